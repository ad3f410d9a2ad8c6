import { hash, verify } from "@node-rs/argon2";

/** Password hashing with argon2id; the hash is the only thing stored. */
export class PasswordHasher {
  /** A real hash of a password nobody has, so a login for an unknown email costs the same time. */
  private readonly decoy: Promise<string>;

  constructor(private readonly cost: { memoryKiB: number; iterations: number }) {
    this.decoy = this.hash("decoy password that matches nothing");
  }

  hash(password: string): Promise<string> {
    return hash(password, { memoryCost: this.cost.memoryKiB, timeCost: this.cost.iterations });
  }

  /** True when `password` matches `stored`; with no stored hash, spends the same time and answers false. */
  async verify(stored: string | undefined, password: string): Promise<boolean> {
    try {
      const ok = await verify(stored ?? (await this.decoy), password);
      return stored !== undefined && ok;
    } catch {
      return false;
    }
  }
}

import fs from "node:fs";
import path from "node:path";

/**
 * An exclusive lock on DATA_DIR for the embedded database: PGlite files opened by two
 * processes are corrupted, so a second server, job runner or admin command refuses to start.
 * The lock file holds the owner's pid; a lock left by a dead process is taken over.
 */
export class DataDirLock {
  private constructor(private readonly file: string) {}

  /** Takes the lock or throws an Error saying which process holds it. */
  static acquire(dataDir: string, purpose: string): DataDirLock {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, "classroom.lock");
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, JSON.stringify({ pid: process.pid, purpose, since: new Date() }), { flag: "wx" });
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const holder = readHolder(file);
        if (holder && isAlive(holder.pid)) {
          throw new Error(
            `${path.resolve(dataDir)} is in use by process ${holder.pid} (${holder.purpose}); ` +
              "stop it first (jobs run inside the server on the embedded database)",
            { cause: err },
          );
        }
        fs.rmSync(file, { force: true }); // stale: its owner is gone
      }
    }
    throw new Error(`could not lock ${path.resolve(dataDir)}`);
  }

  /** Releases the lock; safe to call twice. */
  release(): void {
    const holder = readHolder(this.file);
    if (holder?.pid === process.pid) fs.rmSync(this.file, { force: true });
  }
}

function readHolder(file: string): { pid: number; purpose: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

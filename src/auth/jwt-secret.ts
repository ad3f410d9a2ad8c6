import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Config } from "../config";

/**
 * The HS256 secret: JWT_SECRET when set (config requires it with DATABASE_URL); on the
 * embedded default, one generated into DATA_DIR on first start and read back afterwards,
 * so tokens survive a restart; a fresh random one for a ':memory:' run.
 */
export function resolveJwtSecret(config: Pick<Config, "jwtSecret" | "databaseUrl" | "dataDir">): string {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.databaseUrl) throw new Error("JWT_SECRET is required when DATABASE_URL is set");
  if (config.dataDir === ":memory:") return crypto.randomBytes(48).toString("base64url");
  const file = path.join(config.dataDir, "jwt-secret");
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const secret = crypto.randomBytes(48).toString("base64url");
  fs.writeFileSync(file, secret + "\n", { mode: 0o600 });
  return secret;
}

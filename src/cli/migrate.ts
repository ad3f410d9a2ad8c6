import "reflect-metadata";
import { migrate } from "../app";
import { loadConfig } from "../config";
import { openDatabase } from "../db/open-database";

/** `npm run migrate`: applies pending migrations to the configured database. */
async function main(): Promise<void> {
  const { db, close } = await openDatabase(loadConfig(), "migrate");
  try {
    const ran = await migrate(db);
    console.log(ran.length ? `Applied: ${ran.join(", ")}` : "No pending migrations.");
  } finally {
    await close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

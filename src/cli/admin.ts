import "reflect-metadata";
import { loadConfig } from "../config";
import { openDatabase } from "../db/open-database";
import { UserEntity, UserRole } from "../entities/user.entity";

/** `npm run admin -- <email>`: makes an existing user an admin (admins cannot register). */
async function main(): Promise<void> {
  const email = process.argv[2]?.trim().toLowerCase();
  if (!email) {
    console.error("usage: npm run admin -- <email>");
    process.exit(2);
  }
  const { db, close } = await openDatabase(loadConfig(), "admin");
  try {
    const result = await db.getRepository(UserEntity).update({ email }, { role: UserRole.ADMIN });
    if (!result.affected) throw new Error(`No user with email ${email}; register first, then promote.`);
    console.log(`${email} is now an admin.`);
  } finally {
    await close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

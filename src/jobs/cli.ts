import "reflect-metadata";
import { jobs } from "./registry";

/** `npm run job -- <name>`: runs one job now, against the configured database. */
async function main(): Promise<void> {
  const name = process.argv[2];
  const job = jobs.find((j) => j.name === name);
  if (!job) {
    const known = jobs.map((j) => `  ${j.name}  ${j.description}`).join("\n") || "  (none yet)";
    console.error(`${name ? `unknown job "${name}"` : "usage: npm run job -- <name>"}\njobs:\n${known}`);
    process.exit(2);
  }
  console.log(await job.run(undefined));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

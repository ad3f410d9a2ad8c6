/**
 * Background jobs (W6). Each job is idempotent (running it twice does no harm) and
 * runnable by hand with `npm run job -- <name>`. The drivers that schedule them (BullMQ
 * with REDIS_URL, in-process otherwise) and the jobs themselves arrive with the features
 * that need them.
 */
export interface JobDefinition<Deps> {
  name: string;
  description: string;
  run(deps: Deps): Promise<string>;
}

export const jobs: ReadonlyArray<JobDefinition<unknown>> = [];

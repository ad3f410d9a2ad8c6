import { Users1763776800000 } from "./1763776800000-users";

/** Every migration, in order. Listed by hand so the built and the CLI DataSource agree. */
export const migrations = [Users1763776800000];

import { QueryFailedError } from "typeorm";

/** Whether `err` is Postgres's unique_violation (23505), on `constraint` when named. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const driverError = err.driverError as { code?: string; constraint?: string; message?: string } | undefined;
  if (driverError?.code !== "23505") return false;
  return !constraint || driverError.constraint === constraint || (driverError.message ?? "").includes(constraint);
}

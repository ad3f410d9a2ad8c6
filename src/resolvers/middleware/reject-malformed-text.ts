import type { MiddlewareFn } from "type-graphql";
import { invalidInput } from "../../services/errors";

// NUL cannot be stored by Postgres and an unpaired surrogate is not valid UTF-8: refuse
// both up front with BAD_USER_INPUT instead of failing deep inside a write.
const MALFORMED = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function findMalformed(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return MALFORMED.test(value);
  if (depth > 64 || value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some((item) => findMalformed(item, depth + 1));
  return Object.entries(value).some(([key, item]) => MALFORMED.test(key) || findMalformed(item, depth + 1));
}

/** Global middleware: every argument of every field, JSON included, is checked once. */
export const rejectMalformedText: MiddlewareFn = async ({ args }, next) => {
  if (Object.keys(args).length > 0 && findMalformed(args)) {
    throw invalidInput("Text must not contain NUL characters or unpaired surrogates.");
  }
  return next();
};

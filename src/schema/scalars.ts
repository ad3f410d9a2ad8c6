import { GraphQLError, GraphQLScalarType } from "graphql";
import { DateTimeResolver, JSONResolver, SafeIntResolver } from "graphql-scalars";
import { ErrorCode } from "./errors";
import { MALFORMED_TEXT_MESSAGE, isMalformedText } from "./malformed-text";

/** Levels of a JSON argument, the value itself counting as one (HARDENING.md "Limits"); MAX_JSON_DEPTH sets it per instance. */
export const MAX_JSON_DEPTH = 32;

// Keys that mean something to JavaScript objects: refused, so no consumer of a JSON
// argument can ever set or read a prototype through one (HARDENING.md "Bad input").
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Why `value` is not acceptable JSON input, or undefined: deeper than `maxDepth`, a number
 * that is not finite or past 2^53, a prototype key, or malformed text. Iterative and
 * stopping at the depth limit, so no input can overflow the stack.
 */
export function jsonInputProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  while (pending.length > 0) {
    const { value: next, depth } = pending.pop()!;
    if (typeof next === "string") {
      if (isMalformedText(next)) return MALFORMED_TEXT_MESSAGE;
    } else if (typeof next === "number") {
      if (!Number.isFinite(next) || Math.abs(next) > Number.MAX_SAFE_INTEGER) {
        return "JSON numbers must be finite and at most 2^53 - 1 in magnitude.";
      }
    } else if (next !== null && typeof next === "object") {
      if (depth > maxDepth) return `JSON input must be at most ${maxDepth} levels deep.`;
      if (Array.isArray(next)) {
        for (const item of next) pending.push({ value: item, depth: depth + 1 });
      } else {
        for (const key of Object.keys(next)) {
          if (PROTOTYPE_KEYS.has(key)) return `JSON keys must not be "${key}".`;
          if (isMalformedText(key)) return MALFORMED_TEXT_MESSAGE;
          pending.push({ value: (next as Record<string, unknown>)[key], depth: depth + 1 });
        }
      }
    }
  }
  return undefined;
}

function checkedJson(value: unknown, maxDepth: number): unknown {
  const problem = jsonInputProblem(value, maxDepth);
  if (problem) throw new GraphQLError(problem, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
  return value;
}

/** The contract's scalars: DateTime (ISO 8601), JSON (input checked, see jsonInputProblem), SafeInt (up to 2^53 - 1). */
export const DateTimeScalar = DateTimeResolver;

/**
 * The JSON scalar as the schema's types and arguments name it (`@Field(() => JSONScalar)`): a
 * marker that buildGraphQLSchema maps to `jsonScalar(maxDepth)`, so each instance checks
 * its own MAX_JSON_DEPTH although the decorators are shared by the whole process.
 */
export abstract class JSONScalar {
  // type-graphql copies an argument's value into an instance of its declared class unless the
  // value is one already (`instanceof`): every JSON value counts as one, so it stays as sent.
  static [Symbol.hasInstance](_value: unknown): boolean {
    return true;
  }
}

/** The JSON scalar whose input is checked by jsonInputProblem at `maxDepth` levels. */
export function jsonScalar(maxDepth = MAX_JSON_DEPTH): GraphQLScalarType {
  return new GraphQLScalarType({
    ...JSONResolver.toConfig(),
    description:
      `A JSON value (ECMA-404). Input is checked: at most ${maxDepth} levels deep (MAX_JSON_DEPTH), numbers finite and within ±(2^53 - 1), ` +
      "no `__proto__`, `constructor` or `prototype` keys, no NUL characters or unpaired surrogates; BAD_USER_INPUT otherwise.",
    parseValue: (value) => checkedJson(value, maxDepth),
    // A literal may hold variables ({ a: $v }), whose values the check then covers too.
    parseLiteral: (ast, variables) => checkedJson(JSONResolver.parseLiteral(ast, variables), maxDepth),
  });
}
export const SafeIntScalar = SafeIntResolver;

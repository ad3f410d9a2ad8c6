import { GraphQLError, visit, type DocumentNode } from "graphql";
import { ErrorCode } from "./errors";

// NUL cannot be stored by Postgres and an unpaired surrogate is not valid UTF-8: refuse
// both up front with BAD_USER_INPUT instead of failing deep inside a write.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const MALFORMED = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const MALFORMED_TEXT_MESSAGE = "Text must not contain NUL characters or unpaired surrogates.";

export const isMalformedText = (text: string): boolean => MALFORMED.test(text);

/** Whether any string (or object key) in `value` is malformed; iterative, so no depth can overflow the stack. */
export function hasMalformedText(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === "string") {
      if (MALFORMED.test(next)) return true;
    } else if (Array.isArray(next)) {
      for (const item of next) pending.push(item); // not push(...next): a long array overflows the argument stack
    } else if (next !== null && typeof next === "object") {
      for (const [key, item] of Object.entries(next)) {
        if (MALFORMED.test(key)) return true;
        pending.push(item);
      }
    }
  }
  return false;
}

const checkedDocuments = new WeakMap<DocumentNode, boolean>();

/** Whether a string literal of the document (an inline argument or a default value) is malformed; remembered per parsed document. */
export function documentHasMalformedText(document: DocumentNode): boolean {
  const known = checkedDocuments.get(document);
  if (known !== undefined) return known;
  let found = false;
  visit(document, {
    StringValue(node) {
      if (MALFORMED.test(node.value)) found = true;
    },
  });
  checkedDocuments.set(document, found);
  return found;
}

/**
 * The input check of an operation, run once on its arguments (document literals and
 * variables) before it executes, on HTTP and WebSocket alike: BAD_USER_INPUT, or undefined.
 */
export function malformedTextError(document: DocumentNode, variables: unknown): GraphQLError | undefined {
  if (!documentHasMalformedText(document) && !hasMalformedText(variables)) return undefined;
  return new GraphQLError(MALFORMED_TEXT_MESSAGE, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
}

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphQLError } from "graphql";
import { createErrorFormatter, ErrorCode, publicCode } from "../../src/schema/errors";
import { DomainError, DomainErrorReason } from "../../src/domain/errors";

function formatterWithLog(hideSuggestions = false) {
  const reported: unknown[] = [];
  const format = createErrorFormatter((err) => reported.push(err), { hideSuggestions });
  return { format, reported };
}

/** What graphql-js hands the formatter for an error thrown inside a resolver. */
function resolverError(thrown: Error): GraphQLError {
  return new GraphQLError(thrown.message, { originalError: thrown, path: ["me"] });
}

describe("error formatter", () => {
  it("maps every domain reason to a public code of the contract", () => {
    const contractCodes = new Set<string>(Object.values(ErrorCode));
    for (const reason of Object.values(DomainErrorReason)) assert.ok(contractCodes.has(publicCode(reason)), reason);
    assert.equal(publicCode("SESSION_FULL"), "CONFLICT");
    assert.equal(publicCode("TOKEN_EXPIRED"), "UNAUTHENTICATED");
  });

  it("shows a domain error with its code, reason and details", () => {
    const { format, reported } = formatterWithLog();
    const error = resolverError(new DomainError("RATE_LIMITED", "Too many attempts.", { retryAfterMs: 1200 }));
    const out = format(error.toJSON(), error, "req-1");
    assert.deepEqual(out.extensions, { code: "RATE_LIMITED", reason: "RATE_LIMITED", retryAfterMs: 1200 });
    assert.equal(out.message, "Too many attempts.");
    assert.deepEqual(out.path, ["me"]);
    assert.equal(reported.length, 0);
  });

  it("masks an unexpected error, keeps a request id, and reports the original", () => {
    const { format, reported } = formatterWithLog();
    const boom = new Error('relation "users" does not exist');
    const error = resolverError(boom);
    const out = format({ ...error.toJSON(), extensions: { code: "INTERNAL_SERVER_ERROR", stacktrace: ["at x"] } }, error, "req-2");
    assert.equal(out.message, "Internal server error");
    assert.deepEqual(out.extensions, { code: "INTERNAL_SERVER_ERROR", requestId: "req-2" });
    assert.deepEqual(reported, [boom]);
    assert.doesNotMatch(JSON.stringify(out), /relation|stack/);
  });

  it("masks a resolver's GraphQLError-looking failure that carries no public request code", () => {
    const { format } = formatterWithLog();
    const error = resolverError(new TypeError("Cannot read properties of undefined"));
    assert.equal(format({ ...error.toJSON(), extensions: { code: "BAD_USER_INPUT" } }, error).extensions?.code, "INTERNAL_SERVER_ERROR");
  });

  it("keeps request errors' codes, recodes the token limit, and hides suggestions when asked", () => {
    const { format } = formatterWithLog(true);
    const invalid = new GraphQLError('Cannot query field "mee" on type "Query". Did you mean "me"?', {
      extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
    });
    const out = format(invalid.toJSON(), invalid);
    assert.equal(out.extensions?.code, "GRAPHQL_VALIDATION_FAILED");
    assert.equal(out.message, 'Cannot query field "mee" on type "Query".');

    const tokens = new GraphQLError("Syntax Error: Document contains more that 2000 tokens. Parsing aborted.", {
      extensions: { code: "GRAPHQL_PARSE_FAILED" },
    });
    assert.equal(format(tokens.toJSON(), tokens).extensions?.code, "GRAPHQL_VALIDATION_FAILED");

    const syntax = new GraphQLError("Syntax Error: Expected Name, found <EOF>.", { extensions: { code: "GRAPHQL_PARSE_FAILED" } });
    assert.equal(format(syntax.toJSON(), syntax).extensions?.code, "GRAPHQL_PARSE_FAILED");
  });
});

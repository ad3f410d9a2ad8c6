import { sendJsonError } from "./json-error";
import { createHash } from "node:crypto";
import type http from "node:http";
import { performance } from "node:perf_hooks";
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import type { Request, RequestHandler, Response } from "express";
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { context, trace } from "@opentelemetry/api";
import { AuthContext } from "../auth/auth-context";
import type { TokenService } from "../auth/tokens";
import type { Config } from "../config";
import { createRequestContext, type RequestContext } from "../resolvers/context";
import type { Services } from "../services";
import { requestIdOf } from "./request-id";
import { clientAddress, trustFunction } from "./client-address";
import { compiledGateway } from "../infra/compiled-execution";
import { describeOperation, endWithError, nameHttpRoute, recordOutcome, startOperationSpan, tracingOn, withSpan } from "../infra/tracing";
import { ErrorCode, operationOutcome } from "../schema/errors";
import type { Metrics } from "../infra/metrics";
import type { OperationType } from "../infra/operation-metrics";
import { malformedTextError } from "../schema/malformed-text";
import { costErrors, parseOptions, requestRules } from "../schema/operation-limits";

type FormatError = (formatted: GraphQLFormattedError, error: unknown, requestId?: string) => GraphQLFormattedError;

/** The request id an error was raised under (set before Apollo formats it), for masking and logs. */
const REQUEST_ID = Symbol("requestId");

export interface GraphQLHttp {
  apollo: ApolloServer<RequestContext>;
  /** Express handler for /graphql (GET and POST). */
  handler: RequestHandler;
}

/**
 * Apollo Server 5 over the project's own HTTP server: the schema, the limit rules, the
 * introspection policy and the error formatter are the same ones graphql-ws uses.
 */
export async function createGraphQLHttp(options: {
  schema: GraphQLSchema;
  config: Config;
  services: Services;
  tokens: TokenService;
  formatError: FormatError;
  httpServer: http.Server;
}): Promise<GraphQLHttp> {
  const { schema, config, services, tokens, formatError } = options;
  const trustProxy = trustFunction(config.trustProxy);
  // The checks that need the operation's variables (cost, malformed text), once per
  // operation; and the request id put on each error for formatError (no AsyncLocalStorage,
  // which would tax every promise of every request).
  const operationPlugin: ApolloServerPlugin<RequestContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request, schema: opSchema }) {
          const errors = costErrors(opSchema, document, request.variables, request.operationName, config.limits);
          if (errors.length > 0) {
            errors[0].extensions.http = { status: 400 };
            throw errors[0];
          }
          const malformed = malformedTextError(document, request.variables);
          if (malformed) {
            malformed.extensions.http = { status: 200 };
            throw malformed;
          }
        },
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) (error as { [REQUEST_ID]?: string })[REQUEST_ID] = contextValue?.requestId;
        },
      };
    },
  };
  // With tracing on only: names the operation's span (the handler's, active while Apollo runs)
  // once the operation is known, and records its outcome as the client gets it (the formatted
  // errors' public codes).
  const tracingPlugin: ApolloServerPlugin<RequestContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, operation }) {
          const span = trace.getActiveSpan();
          if (span && operation) describeOperation(span, operation.operation, request.operationName ?? operation.name?.value);
        },
        async willSendResponse({ response }) {
          if (response.body.kind === "single") recordOutcome(trace.getActiveSpan(), response.body.singleResult.errors);
        },
      };
    },
  };
  const apollo = new ApolloServer<RequestContext>({
    gateway: compiledGateway(schema),
    // Introspection is refused by a validation rule shared with graphql-ws, not by Apollo's
    // own check, whose message names the framework.
    introspection: true,
    validationRules: requestRules(config.limits, config.introspection),
    parseOptions: parseOptions(config.limits),
    // Automatic persisted queries (mobile clients send a hash, the text only when it is
    // unknown), in Apollo's in-memory LRU cache: bounded (about 30 MiB), per instance.
    persistedQueries: { ttl: null },
    stopOnTerminationSignals: false, // src/main.ts owns shutdown order
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(keepInputCode(formatted, error), error, (error as { [REQUEST_ID]?: string } | null)?.[REQUEST_ID]),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // The API sets no cache hints. Apollo's default cache-control plugin would compute a
      // policy per resolved field, and its willResolveField hook makes Apollo wrap every
      // resolver of the schema, which graphql-ws's executions share: a cost on every field.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer: options.httpServer }),
      operationPlugin,
      ...(services.metrics.enabled ? [operationMetricsPlugin(services.metrics)] : []),
      ...(tracingOn() ? [tracingPlugin] : []),
    ],
  });
  await apollo.start();

  const serve = async (req: Request, res: Response, requestId: string) => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    const search = req.originalUrl.includes("?") ? req.originalUrl.slice(req.originalUrl.indexOf("?")) : "";
    // Apollo answers a malformed persisted query with an error of no code, which the formatter
    // would mask as INTERNAL_SERVER_ERROR: refused here, as the bad request it is.
    const problem = persistedQueryProblem(req.body, search);
    if (problem) {
      if (tracingOn()) recordOutcome(trace.getActiveSpan(), [{ extensions: { code: ErrorCode.BAD_REQUEST } }]);
      sendJsonError(res, 400, ErrorCode.BAD_REQUEST, problem);
      return;
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method.toUpperCase(), headers, search, body: req.body },
      context: async () =>
        createRequestContext({
          requestId,
          // HTTP takes access tokens only: a session token is for the realtime connection.
          auth: AuthContext.fromHeader(tokens, req.headers.authorization, ["access"]),
          clientIp: clientAddress(req, trustProxy),
          services,
        }),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === "complete") {
      // Written as Apollo made it: no ETag hashed over it, no freshness check (res.send's),
      // which a POSTed operation's answer never uses.
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
  const handler: RequestHandler = (req: Request, res: Response) => {
    const requestId = requestIdOf(res);
    if (!tracingOn()) return serve(req, res, requestId);
    // One span per operation, under the HTTP server span (and so under the caller's traceparent).
    nameHttpRoute("/graphql");
    const span = startOperationSpan(context.active(), "internal", requestId)!;
    return withSpan(span, () => serve(req, res, requestId)).then(
      () => span.end(),
      (err: unknown) => {
        endWithError(span, err);
        throw err;
      },
    );
  };
  return { apollo, handler };
}

/**
 * graphql_operation_duration_seconds over HTTP: from Apollo's first look at the request to its
 * answer, by operation name (the resolved operation's, else the one the client gave), type
 * and outcome. Requests refused before Apollo (a body that is no JSON, a malformed persisted
 * query) are not GraphQL operations and are not counted.
 */
function operationMetricsPlugin(metrics: Metrics): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart({ request }) {
      const started = performance.now();
      return {
        async willSendResponse({ operation, operationName, errors }) {
          const type = (operation?.operation as OperationType | undefined) ?? "unknown";
          const name = operation ? operationName : request.operationName;
          metrics.operations.observe("http", type, name, operationOutcome(errors), (performance.now() - started) / 1000);
        },
      };
    },
  };
}

/**
 * Apollo gives every error found in validation GRAPHQL_VALIDATION_FAILED; an input check
 * that runs there (a JSON literal its scalar refuses) keeps BAD_USER_INPUT, as on WebSocket.
 */
function keepInputCode(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  if (formatted.extensions?.code !== ErrorCode.GRAPHQL_VALIDATION_FAILED || !(original instanceof GraphQLError)) return formatted;
  if (original.extensions.code !== ErrorCode.BAD_USER_INPUT) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.BAD_USER_INPUT } };
}

/**
 * What is wrong with the request's automatic persisted query (`extensions.persistedQuery` of
 * the POST body or GET parameters), if anything: it must be version 1 with a SHA-256 hash
 * (64 hex digits), the hash of the query when one is sent with it.
 */
function persistedQueryProblem(body: unknown, search: string): string | undefined {
  const params = new URLSearchParams(search);
  const post = body !== null && typeof body === "object" ? (body as { extensions?: unknown; query?: unknown }) : undefined;
  let extensions: unknown = post?.extensions;
  let query: unknown = post?.query;
  if (extensions === undefined && params.has("extensions")) {
    try {
      extensions = JSON.parse(params.get("extensions") as string);
    } catch {
      return undefined; // Apollo answers malformed extensions itself
    }
    query = params.get("query") ?? undefined;
  }
  if (extensions === null || typeof extensions !== "object" || !("persistedQuery" in extensions)) return undefined;
  const pq = (extensions as { persistedQuery: unknown }).persistedQuery;
  const hash = pq !== null && typeof pq === "object" ? (pq as { sha256Hash?: unknown }).sha256Hash : undefined;
  if ((pq as { version?: unknown } | null)?.version !== 1 || typeof hash !== "string" || !/^[0-9a-f]{64}$/.test(hash)) {
    return "A persisted query is { version: 1, sha256Hash: <64 lowercase hex digits> }.";
  }
  if (typeof query === "string" && createHash("sha256").update(query).digest("hex") !== hash) {
    return "The persisted query's sha256Hash is not the SHA-256 of the query sent with it.";
  }
  return undefined;
}

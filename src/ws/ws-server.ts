import type http from "node:http";
import type { Duplex } from "node:stream";
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  createSourceEventStream,
  execute,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from "graphql";
import type { Context, ServerOptions } from "graphql-ws";
import { ROOT_CONTEXT, type Context as TraceContext, type Span } from "@opentelemetry/api";
import { LRUCache } from "lru-cache";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { AuthContext } from "../auth/auth-context";
import type { TokenClaims, TokenService } from "../auth/tokens";
import { bearerToken } from "../auth/tokens";
import type { Config } from "../config";
import type { Logger } from "../infra/logger";
import { createRequestContext } from "../resolvers/context";
import { ErrorCode } from "../schema/errors";
import { malformedTextError } from "../schema/malformed-text";
import { costErrors, parseOptions, requestRules } from "../schema/operation-limits";
import type { Services } from "../services";
import { SharedDelivery, SharedStream, operationFacts, type OperationFacts } from "./shared-delivery";
import { coalesceSends } from "../realtime/socket-writes";
import { ConnectionAdmission } from "../realtime/connection-admission";
import { ExpiryBuckets } from "../realtime/expiry-buckets";
import { newRequestId } from "../infra/request-id";
import {
  describeOperation,
  endOperation,
  extractParent,
  startOperationSpan,
  tracingOn,
  withSpan,
  type OutcomeErrors,
  type TraceCarrier,
} from "../infra/tracing";
import { DirectMutations } from "../realtime/direct-mutations";
import { directMutations } from "../resolvers/realtime.resolver";
import { SECURITY_HEADERS } from "../http/security";
import { RealtimeOperationMetrics } from "./operation-metrics";
import { clientAddress, trustFunction } from "../http/client-address";

/** Close codes of the realtime connection (RULES.md, HARDENING.md). */
export const CloseCode = {
  GoingAway: 1001,
  BadRequest: 4400,
  Unauthorized: 4401,
  Forbidden: 4403,
  RateLimited: 4429,
} as const;

/** graphql-ws's state of one connection. */
type ConnectionContext = Context<Record<string, unknown> | undefined, { socket: WebSocket; request: http.IncomingMessage }>;

type FormatError = (formatted: GraphQLFormattedError, error: unknown, requestId?: string) => GraphQLFormattedError;

interface SocketState {
  socket: WebSocket;
  /** The upgrade request, until connection_init is handled: not kept for the socket's life. */
  request?: http.IncomingMessage;
  /** The client's address, as TRUST_PROXY decides, read from the upgrade request. */
  clientIp?: string;
  auth?: AuthContext;
  /** When the socket's token expires (ms): it is closed 4401 then. */
  expiresAtMs?: number;
  /** Operation id → request id, for the operations running on this socket. */
  operations: Map<string, string>;
  /** Ids of the subscriptions running on this socket (at most MAX_SUBSCRIPTIONS_PER_SOCKET). */
  subscriptions: Set<string>;
  /** With tracing on: the caller's span named by connectionParams.traceparent, the parent of the socket's operations. */
  traceParent?: TraceContext;
  /** With tracing on: operation id → its span, until its outcome is known (for a subscription, once it is established). */
  spans?: Map<string, Span>;
}

/** A validated document, and per operation name what shared delivery needs to know of it. */
interface CheckedDocument {
  document: DocumentNode;
  facts: Map<string, OperationFacts>;
}

/**
 * graphql's own mapping of a source stream (one execution per item per subscriber), for a
 * subscription whose producer did not use the shared path. Unlike an async generator, its
 * return() reaches the source at once, even while the source waits for a value.
 */
function executeEach(source: AsyncIterable<unknown>, args: ExecutionArgs): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  return {
    async next() {
      const step = await iterator.next();
      return step.done ? step : { value: await execute({ ...args, rootValue: step.value }), done: false };
    },
    return: async () => {
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    throw: async (error: unknown) => {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const GRAPHQL_PATH = "/graphql";

const REFUSALS = {
  404: { status: "404 Not Found", message: "Not found.", code: ErrorCode.NOT_FOUND },
  429: { status: "429 Too Many Requests", message: "Too many connections from this address: retry later.", code: ErrorCode.RATE_LIMITED },
} as const;

/**
 * Refuses an upgrade as the HTTP routes answer: JSON, the security headers, closed. 404 on a
 * path without a WebSocket endpoint, 429 for an address over its connection limits.
 */
function refuseUpgrade(socket: Duplex, status: keyof typeof REFUSALS): void {
  socket.on("error", () => undefined); // a client gone meanwhile
  const refusal = REFUSALS[status];
  const body = JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: refusal.code } }] });
  const headers = { ...SECURITY_HEADERS, "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)), Connection: "close" };
  socket.end(
    `HTTP/1.1 ${refusal.status}\r\n${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("")}\r\n${body}`,
  );
}

/** How many distinct documents each instance keeps parsed and validated... */
const DOCUMENT_CACHE_SIZE = 1000;
/**
 * ...and how much text they may weigh together: a valid document (2000 tokens at most) can
 * still be a frame's 1 MiB of string literals, which a thousand of would make a gigabyte.
 */
const DOCUMENT_CACHE_CHARS = 8 * 2 ** 20;

export interface RealtimeServer {
  /** Closes every socket with 1001 and stops accepting new ones. */
  close(): Promise<void>;
}

/**
 * graphql-ws on the HTTP server's /graphql path. Queries, mutations and subscriptions over
 * the socket go through the same parse limits, validation rules, cost limit, introspection
 * policy and error formatter as HTTP.
 *
 * Connection contract: the access or session token comes from connectionParams.authorization
 * or the upgrade request's Authorization header; missing, invalid or expired closes 4401,
 * and an open socket is closed 4401 when its token expires.
 */
export function createRealtimeServer(options: {
  httpServer: http.Server;
  schema: GraphQLSchema;
  config: Config;
  services: Services;
  tokens: TokenService;
  formatError: FormatError;
  logger: Logger;
}): RealtimeServer {
  const { schema, config, services, tokens, formatError, logger } = options;
  const trustProxy = trustFunction(config.trustProxy);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.limits.maxWsFrameBytes, // beyond it ws closes with 1009
  });
  // Upgrades on /graphql only; any other path answers as the HTTP routes do (a JSON 404 with
  // the security headers), not ws's bare HTML 400.
  const admission = new ConnectionAdmission({
    maxPending: config.limits.maxPendingSocketsPerIp,
    maxNewPerMinute: config.limits.maxNewSocketsPerIpPerMinute,
  });
  // Ends a socket's pending count once its connection_init is handled.
  const pendingOf = new WeakMap<WebSocket, () => void>();
  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const query = request.url?.indexOf("?") ?? -1;
    const pathname = query === -1 ? request.url : request.url?.slice(0, query);
    if (pathname !== GRAPHQL_PATH) return refuseUpgrade(socket, 404);
    const settle = admission.admit(clientAddress(request, trustProxy) ?? "unknown");
    if (!settle) return refuseUpgrade(socket, 429);
    socket.once("close", settle); // a failed handshake, or the socket's end
    wss.handleUpgrade(request, socket, head, (ws) => {
      pendingOf.set(ws, settle);
      wss.emit("connection", ws, request);
    });
  };
  options.httpServer.on("upgrade", onUpgrade);
  const rules = [...specifiedRules, ...requestRules(config.limits, config.introspection)];
  // Open sockets per user, so cursor abuse reported by any instance closes that user's sockets here.
  const socketsByUser = new Map<string, Set<WebSocket>>();
  const closeAbuser = ({ userId }: { userId: string }) => {
    for (const socket of socketsByUser.get(userId) ?? []) socket.close(CloseCode.RateLimited, "Too many cursor updates");
  };
  // The token each socket was opened with: a logout or password change (any instance) closes
  // the sockets of the tokens it revoked with 4401.
  const socketClaims = new WeakMap<WebSocket, TokenClaims>();
  const stopRevocationWatch = tokens.revocations.onRevoked(({ userId }) => {
    for (const socket of socketsByUser.get(userId) ?? []) {
      const claims = socketClaims.get(socket);
      if (claims && tokens.revocations.isRevoked(userId, claims.tokenId, claims.issuedAtMs)) {
        socket.close(CloseCode.Unauthorized, "Token revoked");
      }
    }
  });
  // Subscribed with the first socket, not at boot: a pub/sub subscription made while the
  // Redis subscriber connection is still starting delays its "ready" (and /healthz with it).
  let stopAbuseWatch: (() => void) | undefined;
  // One timer per second in which tokens expire, not one per socket.
  const expiries = new ExpiryBuckets<WebSocket>((socket) => socket.close(CloseCode.Unauthorized, "Token expired"));

  const stateOf = (ctx: ConnectionContext) => ctx.extra as unknown as SocketState;
  /** With tracing on: each operation's span by its request context, for the executor that runs it. */
  const spanOfContext = new WeakMap<object, Span>();
  const endSpan = (state: SocketState, id: string, errors: OutcomeErrors) => {
    const span = state.spans?.get(id);
    if (!span) return;
    state.spans!.delete(id);
    endOperation(span, errors);
  };

  // Parsed and validated documents by their text (least recently used out): a client sends
  // the same few documents again and again, e.g. a cursor move 20 times a second. Only valid
  // ones are kept; the cost limit depends on the variables and is checked every time. Each
  // weighs its text's length, a lower bound of what it holds (its AST keeps the same strings).
  const documents = new LRUCache<string, CheckedDocument>({
    max: DOCUMENT_CACHE_SIZE,
    maxSize: DOCUMENT_CACHE_CHARS,
    sizeCalculation: (_checked, query) => query.length,
  });
  const checkedDocument = (query: string): CheckedDocument | { errors: readonly GraphQLError[] } => {
    const cached = documents.get(query);
    if (cached) return cached;
    let document: DocumentNode;
    try {
      document = parse(query, parseOptions(config.limits));
    } catch (err) {
      const error = err instanceof GraphQLError ? err : new GraphQLError("Could not parse the document.");
      error.extensions.code = ErrorCode.GRAPHQL_PARSE_FAILED;
      return { errors: [error] };
    }
    const errors = validate(schema, document, rules);
    if (errors.length > 0) {
      for (const error of errors) error.extensions.code ??= ErrorCode.GRAPHQL_VALIDATION_FAILED;
      return { errors };
    }
    const checked: CheckedDocument = { document, facts: new Map() };
    documents.set(query, checked);
    return checked;
  };
  const factsOf = (checked: CheckedDocument, operationName?: string | null): OperationFacts => {
    const key = operationName ?? "";
    let facts = checked.facts.get(key);
    if (!facts) checked.facts.set(key, (facts = operationFacts(schema, checked.document, operationName)));
    return facts;
  };

  const format = (errors: readonly GraphQLError[], requestId?: string) => errors.map((error) => formatError(error.toJSON(), error, requestId));
  /** The result as the client gets it: errors masked and coded (variable coercion errors are BAD_USER_INPUT). */
  const formatResult = (result: ExecutionResult, requestId?: string): FormattedExecutionResult => {
    if (!result.errors) return result;
    for (const error of result.errors) {
      // Errors of coercing the operation's variables (Apollo's test): no path, one node, a
      // variable definition. A scalar's parse error is their originalError.
      if (!error.path && error.nodes?.length === 1 && error.nodes[0].kind === Kind.VARIABLE_DEFINITION) {
        error.extensions.code ??= ErrorCode.BAD_USER_INPUT;
      }
    }
    return { ...result, errors: format(result.errors, requestId) };
  };
  // graphql-ws's state of each open connection, for the mutations answered without it.
  const connections = new WeakMap<WebSocket, ConnectionContext>();
  // METRICS_ENABLED: the operations' timers and counts (wrapping the hooks below), or nothing at all.
  const operationMetrics = services.metrics.enabled ? new RealtimeOperationMetrics(services.metrics, (query) => documents.peek(query)?.document) : undefined;
  const direct = new DirectMutations(
    schema,
    directMutations(services),
    (query) => {
      const checked = checkedDocument(query);
      return "document" in checked ? checked.document : undefined;
    },
    formatResult,
    operationMetrics && ((name, started, error) => operationMetrics.direct(name, started, error)),
  );
  const delivery = new SharedDelivery(schema, services, services.metrics, formatResult, (err) => logger.error({ err }, "a live frame could not be prepared"));

  const instrumented = (hooks: ServerOptions<ConnectionContext["connectionParams"], ConnectionContext["extra"]> & { isProd: boolean }) =>
    operationMetrics ? operationMetrics.instrument(hooks) : hooks;
  const server = useServer(
    instrumented({
      schema,
      isProd: true, // close reasons never carry internal error messages
      connectionInitWaitTimeout: config.connectionInitWaitMs,
      onConnect: (ctx) => {
        const state = stateOf(ctx);
        pendingOf.get(state.socket)?.();
        state.operations = new Map();
        state.subscriptions = new Set();
        if (tracingOn()) {
          state.traceParent = extractParent(ctx.connectionParams as TraceCarrier | undefined);
          state.spans = new Map();
        }
        // What the socket needs of the upgrade request and the token is read once: neither the
        // request (its headers) nor the token's text stay in memory for the socket's life.
        const request = state.request as http.IncomingMessage;
        state.request = undefined;
        state.clientIp = clientAddress(request, trustProxy);
        const header = ctx.connectionParams?.authorization ?? request.headers.authorization;
        if (ctx.connectionParams) delete (ctx.connectionParams as Record<string, unknown>).authorization;
        const token = bearerToken(header) ?? (typeof header === "string" && !/\s/.test(header) ? header : undefined);
        let auth: AuthContext | undefined;
        try {
          auth = token ? AuthContext.of(tokens.verify(token, ["access", "session"])) : undefined;
        } catch {
          auth = undefined;
        }
        if (!auth?.claims) {
          state.socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
        state.auth = auth;
        stopAbuseWatch ??= services.presence.onCursorAbuse(closeAbuser);
        const userId = auth.claims.userId;
        const userSockets = socketsByUser.get(userId) ?? new Set<WebSocket>();
        // HARDENING.md: one account cannot hold the instance's sockets (and their subscriptions).
        if (userSockets.size >= config.limits.maxSocketsPerUser) {
          state.socket.close(CloseCode.RateLimited, "Too many connections");
          return false;
        }
        socketsByUser.set(userId, userSockets.add(state.socket));
        connections.set(state.socket, ctx);
        socketClaims.set(state.socket, auth.claims);
        // Clients refresh their token and reconnect when they see 4401.
        state.expiresAtMs = auth.claims.expiresAt.getTime();
        expiries.add(state.socket, state.expiresAtMs);
        state.socket.once("close", () => {
          if (state.spans) for (const id of [...state.spans.keys()]) endSpan(state, id, undefined);
          expiries.delete(state.socket, state.expiresAtMs as number);
          userSockets.delete(state.socket);
          if (userSockets.size === 0 && socketsByUser.get(userId) === userSockets) socketsByUser.delete(userId);
        });
        return true;
      },
      onSubscribe: (ctx, id, payload): ExecutionArgs | readonly GraphQLError[] => {
        const state = stateOf(ctx);
        const requestId = newRequestId();
        // The operation's span: under the caller's span named by the operation's
        // extensions.traceparent, else by the connection's; ended with its outcome (onNext, onError).
        const span =
          state.spans && startOperationSpan(extractParent(payload.extensions as TraceCarrier) ?? state.traceParent ?? ROOT_CONTEXT, "server", requestId);
        if (span) state.spans!.set(id, span);
        const checked = checkedDocument(payload.query);
        if (!("document" in checked)) return checked.errors;
        const { document } = checked;
        const malformed = malformedTextError(document, payload.variables);
        if (malformed) return [malformed];
        const errors = costErrors(schema, document, payload.variables, payload.operationName, config.limits);
        if (errors.length > 0) {
          for (const error of errors) error.extensions.code ??= ErrorCode.GRAPHQL_VALIDATION_FAILED;
          return errors;
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) {
          // graphql-js's (and so HTTP's) words for it.
          const message = payload.operationName
            ? `Unknown operation named "${payload.operationName}".`
            : "Must provide operation name if query contains multiple operations.";
          return [new GraphQLError(message, { extensions: { code: ErrorCode.BAD_REQUEST } })];
        }
        if (span) describeOperation(span, operation.operation, payload.operationName ?? operation.name?.value);
        if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
          // Queries and mutations in flight do not count: a cursor stream is many short mutations.
          // graphql-ws forgets an id as soon as the client completes it, before its teardown ends.
          for (const running of state.subscriptions) if (!(running in ctx.subscriptions)) state.subscriptions.delete(running);
          if (state.subscriptions.size >= config.limits.maxSubscriptionsPerSocket) {
            return [
              new GraphQLError(`At most ${config.limits.maxSubscriptionsPerSocket} subscriptions may run on one connection.`, {
                extensions: { code: ErrorCode.BAD_REQUEST },
              }),
            ];
          }
          state.subscriptions.add(id);
        }
        state.operations.set(id, requestId);
        const auth = state.auth ?? AuthContext.anonymous();
        const clientIp = state.clientIp;
        const contextValue = createRequestContext({ requestId, auth, clientIp, services });
        if (span) spanOfContext.set(contextValue, span);
        if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
          const facts = factsOf(checked, payload.operationName);
          contextValue.openStream = delivery.opener({
            socket: state.socket,
            id,
            auth,
            clientIp,
            query: payload.query,
            document,
            operationName: payload.operationName,
            variables: payload.variables,
            facts,
          });
        }
        return { schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue };
      },
      // A live subscription's frames are written by SharedDelivery; its stream is handed to
      // graphql-ws as is, to end the operation after them.
      subscribe: async (args) => {
        const span = spanOfContext.get(args.contextValue as object);
        const stream = await (span ? withSpan(span, () => createSourceEventStream(args)) : createSourceEventStream(args));
        if (stream instanceof SharedStream || !(Symbol.asyncIterator in stream)) return stream;
        return executeEach(stream, args);
      },
      // Queries and mutations run under their span (the default, graphql's execute, without tracing).
      execute: tracingOn()
        ? (args) => {
            const span = spanOfContext.get(args.contextValue as object);
            return span ? withSpan(span, () => execute(args)) : execute(args);
          }
        : undefined,
      // A subscription's span ends once it is established; its frames are the delivery's.
      onOperation: tracingOn()
        ? (ctx, id, _payload, _args, result) => {
            if (Symbol.asyncIterator in result) endSpan(stateOf(ctx), id, undefined);
          }
        : undefined,
      onNext: (ctx, id, _payload, _args, result: ExecutionResult): FormattedExecutionResult | void => {
        const state = stateOf(ctx);
        const formatted = result.errors ? formatResult(result, state.operations.get(id)) : undefined;
        if (state.spans) endSpan(state, id, formatted?.errors);
        return formatted;
      },
      onError: (ctx, id, _payload, errors) => {
        const state = stateOf(ctx);
        const formatted = format(errors, state.operations.get(id));
        if (state.spans) endSpan(state, id, formatted);
        return formatted;
      },
      onComplete: (ctx, id) => {
        const state = stateOf(ctx);
        state.operations.delete(id);
        state.subscriptions.delete(id);
        if (state.spans) endSpan(state, id, undefined);
      },
    }),
    wss,
    0, // the keepalive below, one timer for every socket
  );

  // WS_KEEPALIVE_MS: every socket is pinged this often and dropped when it has not answered
  // the previous ping by then. One timer for all (graphql-ws's own is a timer, a closure and
  // a listener per socket).
  const answered = new WeakSet<WebSocket>();
  function markAnswered(this: WebSocket) {
    answered.add(this);
  }
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (answered.delete(socket)) socket.ping();
      else socket.terminate();
    }
  }, config.wsKeepAliveMs);
  keepAlive.unref();

  wss.on("error", (err) => logger.error({ err }, "websocket server error"));
  wss.on("connection", (socket) => {
    // graphql-ws reports every socket error on the console with a stack, most often a
    // client's fault (a frame over the limit, which ws has already closed with 1009): log it
    // through our logger instead, and close what is still open as graphql-ws would.
    for (const listener of socket.listeners("error")) socket.off("error", listener as (err: Error) => void);
    socket.on("error", (err) => {
      logger.info({ err: err.message }, "websocket closed after a socket error");
      if (socket.readyState === socket.OPEN) socket.close(1011, "Internal server error");
    });
    coalesceSends(socket);
    answered.add(socket);
    socket.on("pong", markAnswered);
    // The mutations sent many times a second (cursor moves) are answered here; every other
    // message reaches graphql-ws's own listener as it came.
    const graphqlWs = socket.listeners("message") as Array<(data: RawData, isBinary: boolean) => void>;
    socket.removeAllListeners("message");
    socket.on("message", (data, isBinary) => {
      const state = connections.get(socket);
      if (direct.take(socket, state, state && stateOf(state).auth, String(data), state && stateOf(state).traceParent)) return;
      for (const listener of graphqlWs) listener.call(socket, data, isBinary);
    });
  });

  return {
    async close() {
      stopAbuseWatch?.();
      stopRevocationWatch();
      admission.close();
      expiries.close();
      clearInterval(keepAlive);
      options.httpServer.off("upgrade", onUpgrade);
      // graphql-ws's dispose closes every client with 1001 and the server itself.
      await server.dispose();
    },
  };
}

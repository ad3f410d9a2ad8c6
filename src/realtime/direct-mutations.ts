import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import {
  Kind,
  OperationTypeNode,
  getNamedType,
  isNonNullType,
  isScalarType,
  locatedError,
  typeFromAST,
  valueFromAST,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FormattedExecutionResult,
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLSchema,
} from "graphql";
import type { WebSocket } from "ws";
import { ROOT_CONTEXT, type Context as TraceContext } from "@opentelemetry/api";
import type { AuthContext } from "../auth/auth-context";
import { documentHasMalformedText, hasMalformedText } from "../schema/malformed-text";
import { sendTexts } from "./socket-writes";
import { describeOperation, endOperation, extractParent, startOperationSpan, tracingOn, withSpan, type TraceCarrier } from "../infra/tracing";

/**
 * Mutations the realtime socket answers without graphql-js (issue 10, "cursors that keep
 * up"): a participant moves its cursor 20 times a second, and running each move through
 * graphql-ws and the executor (variable coercion, a request context, the resolver chain, two
 * messages built and validated) cost the instance more than the move itself.
 *
 * A document qualifies once, when first seen: a single mutation of exactly one field listed
 * here, scalar-valued, without directives, fragments or aliases of arguments that could
 * differ from the executor's view. Each message of such a document then costs one JSON.parse,
 * the coercion of its variables, the service call and one write (both frames in one buffer).
 * The answer is the one graphql-js gives (same data, same errors through the same formatter),
 * on the same protocol: a `next` then a `complete`.
 *
 * Anything unusual (a variable that does not coerce, malformed text, an id already running, a
 * connection not yet acknowledged, an unknown message) is handed to graphql-ws untouched,
 * which answers it as it always would: this path never produces an error graphql-ws would
 * have phrased differently.
 */

/** What a direct mutation does: the resolver's one service call. */
export type DirectHandler = (auth: AuthContext, args: Record<string, unknown>) => Promise<unknown>;

/**
 * Told of each direct mutation once answered (the metrics): its operation's name, when its
 * service call started (performance.now()) and what that threw, if anything.
 */
export type DirectTiming = (operationName: string | undefined, startedAt: number, error?: unknown) => void;

/** How a document's single field gets its arguments. */
interface Plan {
  /** The operation's name in the document, if it has one (metrics and tracing). */
  operationName?: string;
  responseKey: string;
  field: FieldNode;
  handler: DirectHandler;
  /** The operation's variables: name, scalar type, whether required, default. */
  variables: Array<{ name: string; scalar: string; nonNull: boolean; defaultValue?: unknown }>;
  /** Each argument given in the document: from a variable, or a literal coerced once. */
  args: Array<{ name: string; nonNull: boolean } & ({ variable: string } | { value: unknown })>;
}

/** The built-in scalars' input coercion, exactly as graphql-js accepts them; undefined when it would refuse. */
const COERCE: Record<string, (value: unknown) => unknown> = {
  Float: (v) => (typeof v === "number" && Number.isFinite(v) ? v : undefined),
  Int: (v) => (typeof v === "number" && Number.isInteger(v) && v <= 2147483647 && v >= -2147483648 ? v : undefined),
  String: (v) => (typeof v === "string" ? v : undefined),
  Boolean: (v) => (typeof v === "boolean" ? v : undefined),
  ID: (v) => (typeof v === "string" ? v : typeof v === "number" && Number.isInteger(v) ? String(v) : undefined),
};

/** Messages longer than this are never direct mutations (they go to graphql-ws without being parsed twice). */
const MAX_DIRECT_MESSAGE = 4096;

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** graphql-ws's state of a connection (its Context), as far as this path needs it. */
export interface DirectConnection {
  readonly acknowledged: boolean;
  readonly subscriptions: Record<string, unknown>;
}

export class DirectMutations {
  /** The plan of each validated document (undefined: not direct), by document. */
  private readonly plans = new WeakMap<DocumentNode, Plan | null>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly handlers: Record<string, DirectHandler>,
    /** The transport's validated document for a query text (its cache), or undefined when invalid. */
    private readonly documentOf: (query: string) => DocumentNode | undefined,
    private readonly formatResult: (result: ExecutionResult, requestId?: string) => FormattedExecutionResult,
    /** METRICS_ENABLED: the operation timer; undefined costs nothing. */
    private readonly timing?: DirectTiming,
  ) {}

  /**
   * Answers `text` when it is a direct mutation of `connection`; false leaves the message to
   * graphql-ws (nothing has been done with it). With tracing on, the mutation's span is under
   * the caller's span its extensions.traceparent names, else `traceParent` (the connection's).
   */
  take(socket: WebSocket, connection: DirectConnection | undefined, auth: AuthContext | undefined, text: string, traceParent?: TraceContext): boolean {
    if (!connection?.acknowledged || !auth || text.length > MAX_DIRECT_MESSAGE) return false;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return false;
    }
    if (!isPlainObject(message) || message.type !== "subscribe" || typeof message.id !== "string" || message.id === "") return false;
    const { id, payload } = message;
    if (!isPlainObject(payload) || typeof payload.query !== "string") return false;
    const { variables, operationName, extensions } = payload;
    if (variables != null && !isPlainObject(variables)) return false;
    if (operationName != null && typeof operationName !== "string") return false;
    if (extensions != null && !isPlainObject(extensions)) return false;
    if (id in connection.subscriptions) return false; // graphql-ws closes 4409 for it
    const plan = this.planOf(payload.query, operationName);
    if (!plan) return false;
    const args = this.argumentsOf(plan, variables ?? {});
    if (!args) return false;
    // Taken: the id is running until answered, as graphql-ws would hold it.
    connection.subscriptions[id] = null;
    const timing = this.timing;
    const startedAt = timing ? performance.now() : 0;
    const span = tracingOn() ? startOperationSpan(extractParent(extensions as TraceCarrier) ?? traceParent ?? ROOT_CONTEXT, "server") : undefined;
    if (span) describeOperation(span, "mutation", (operationName as string | undefined) ?? plan.operationName);
    (span ? withSpan(span, () => plan.handler(auth, args)) : plan.handler(auth, args)).then(
      (value) => {
        timing?.(plan.operationName, startedAt);
        this.answer(socket, connection, id, { data: { [plan.responseKey]: value } });
        if (span) endOperation(span, undefined);
      },
      (err: unknown) => {
        timing?.(plan.operationName, startedAt, err);
        const error = locatedError(err, [plan.field], [plan.responseKey]);
        const formatted = this.formatResult({ errors: [error], data: null }, randomUUID());
        this.answer(socket, connection, id, formatted);
        if (span) endOperation(span, formatted.errors);
      },
    );
    return true;
  }

  private answer(socket: WebSocket, connection: DirectConnection, id: string, payload: FormattedExecutionResult): void {
    // A client that completed the id meanwhile is not answered, as graphql-ws would not.
    if (!(id in connection.subscriptions)) return;
    delete connection.subscriptions[id];
    if (socket.readyState !== socket.OPEN) return;
    sendTexts(socket, [JSON.stringify({ id, type: "next", payload }), JSON.stringify({ id, type: "complete" })]);
  }

  private planOf(query: string, operationName: unknown): Plan | undefined {
    const document = this.documentOf(query);
    if (!document) return undefined;
    let plan = this.plans.get(document);
    if (plan === undefined) this.plans.set(document, (plan = this.plan(document)));
    if (!plan) return undefined;
    const operation = document.definitions[0];
    // A name that does not match is graphql-ws's error to give.
    if (operationName != null && operation.kind === Kind.OPERATION_DEFINITION && operation.name?.value !== operationName) return undefined;
    return plan;
  }

  /** The plan of a document that is one direct mutation and nothing else; null for any other. */
  private plan(document: DocumentNode): Plan | null {
    if (document.definitions.length !== 1 || documentHasMalformedText(document)) return null;
    const operation = document.definitions[0];
    if (operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== OperationTypeNode.MUTATION) return null;
    if (operation.directives?.length || operation.selectionSet.selections.length !== 1) return null;
    const field = operation.selectionSet.selections[0];
    if (field.kind !== Kind.FIELD || field.directives?.length || field.selectionSet) return null;
    const handler = Object.hasOwn(this.handlers, field.name.value) ? this.handlers[field.name.value] : undefined;
    const definition = this.schema.getMutationType()?.getFields()[field.name.value];
    if (!handler || !definition || !isScalarType(getNamedType(definition.type))) return null;

    const variables: Plan["variables"] = [];
    for (const v of operation.variableDefinitions ?? []) {
      const type = typeFromAST(this.schema, v.type) as GraphQLInputType | undefined;
      const scalar = type && getNamedType(type).name;
      if (v.directives?.length || !scalar || !(scalar in COERCE) || !isScalarType(getNamedType(type))) return null;
      if (v.type.kind === Kind.LIST_TYPE || (v.type.kind === Kind.NON_NULL_TYPE && v.type.type.kind === Kind.LIST_TYPE)) return null;
      const defaultValue = v.defaultValue ? valueFromAST(v.defaultValue, type) : undefined;
      if (v.defaultValue && defaultValue === undefined) return null;
      variables.push({ name: v.variable.name.value, scalar, nonNull: isNonNullType(type), defaultValue });
    }
    const args: Plan["args"] = [];
    for (const node of field.arguments ?? []) {
      const argument: GraphQLArgument | undefined = definition.args.find((a) => a.name === node.name.value);
      if (!argument || argument.defaultValue !== undefined) return null;
      const nonNull = isNonNullType(argument.type);
      if (node.value.kind === Kind.VARIABLE) {
        args.push({ name: argument.name, nonNull, variable: node.value.name.value });
      } else {
        const value = valueFromAST(node.value, argument.type);
        if (value === undefined) return null;
        args.push({ name: argument.name, nonNull, value });
      }
    }
    return { operationName: operation.name?.value, responseKey: field.alias?.value ?? field.name.value, field, handler, variables, args };
  }

  /** The arguments graphql-js would pass the resolver; undefined when anything would not coerce. */
  private argumentsOf(plan: Plan, given: Record<string, unknown>): Record<string, unknown> | undefined {
    if (hasMalformedText(given)) return undefined;
    const values = new Map<string, unknown>();
    for (const v of plan.variables) {
      const raw = Object.hasOwn(given, v.name) ? given[v.name] : undefined;
      if (raw === undefined) {
        if (v.defaultValue !== undefined) values.set(v.name, v.defaultValue);
        else if (v.nonNull) return undefined;
        continue;
      }
      if (raw === null) {
        if (v.nonNull) return undefined;
        values.set(v.name, null);
        continue;
      }
      const coerced = COERCE[v.scalar](raw);
      if (coerced === undefined) return undefined;
      values.set(v.name, coerced);
    }
    const args: Record<string, unknown> = {};
    for (const a of plan.args) {
      const value = "variable" in a ? values.get(a.variable) : a.value;
      if (value === undefined || value === null) {
        if (a.nonNull) return undefined;
        if (value === null) args[a.name] = null;
        continue;
      }
      args[a.name] = value;
    }
    return args;
  }
}

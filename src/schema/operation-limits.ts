/**
 * Limits applied to every GraphQL document, by both transports (Apollo Server over
 * HTTP and graphql-ws over WebSocket), so that a single request cannot make the
 * server do unbounded work (design/HARDENING.md: depth, alias, token and cost limits).
 *
 * Aliases are counted by graphql-armor (max-aliases) and tokens by graphql-js's own parser
 * (`maxTokens`; graphql-armor's max-tokens proxies every token of the lexer, 25 µs against
 * 8 µs to parse a dashboard query, and words the error its own way). Two measures stay
 * hand-written, as graphql-armor and graphql-query-complexity cannot express them:
 * - depth: graphql-armor's max-depth exempts `__schema` but not `__type`, so a tool asking
 *   `__type` for one type with the fields graphql-js's introspection query asks (depth 14)
 *   would be refused; here both are measured as leaves (isIntrospectionField);
 * - cost: graphql-armor's cost-limit has no schema and reads only a literal `first`, never
 *   `first: $n`. graphql-query-complexity honours variables, but walks a fragment again at
 *   every spread (fragments spread twice over 16 levels exceed its 10 000-node cap, which
 *   answers an error of its own), its estimators do not see the parent field (a connection's
 *   `edges` are its page, not one more list), and it took 46 µs where operationCost takes
 *   5 µs on the same query: cost runs on every operation, cursor moves included, since the
 *   variables change each time.
 *
 * Everything here must terminate and must not throw on documents that are otherwise invalid
 * (fragment cycles, unknown fields): graphql's own validation rules report those problems,
 * ours only measure.
 */
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  GraphQLSchema,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from "graphql";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  maxPageSize: number;
}

/** The limits from design/HARDENING.md. */
export const DEFAULT_OPERATION_LIMITS: Readonly<OperationLimits> = Object.freeze({
  maxDepth: 10,
  maxAliases: 15,
  maxTokens: 2000,
  maxCost: 5000,
  maxPageSize: 100,
});

/** Weight of a paginated field (one with a `first` argument) when no `first` value is known. */
export const DEFAULT_PAGE_SIZE = 20;
/** Weight of a list field that has no `first` argument: its length is not under the client's control. */
export const UNPAGINATED_LIST_WEIGHT = 10;

const CODE = "GRAPHQL_VALIDATION_FAILED";

function limitError(message: string, node?: OperationDefinitionNode): GraphQLError {
  return new GraphQLError(message, { nodes: node, extensions: { code: CODE } });
}

// Introspection (`__schema`, `__type`) only reads the in-memory schema, whose size we
// control; the standard introspection query nests `ofType` ~13 levels deep, and GraphiQL
// must keep working, so these fields are measured as leaves for depth and cost.
function isIntrospectionField(field: FieldNode): boolean {
  return field.name.value === "__schema" || field.name.value === "__type";
}

/**
 * The depth of a selection set, following inline fragments and fragment spreads. Each
 * fragment is measured once and memoised (a fragment spread many times, or nested fragments
 * spreading each other twice, would otherwise cost exponential time), and a spread of a
 * fragment that is already being measured counts 0 so cycles terminate.
 */
function depthMeasure(getFragment: (name: string) => FragmentDefinitionNode | null | undefined): (selectionSet: SelectionSetNode | undefined) => number {
  const memo = new Map<string, number>();
  const active = new Set<string>();

  const fragment = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const definition = getFragment(name);
    if (!definition || active.has(name)) return 0;
    active.add(name);
    const value = measure(definition.selectionSet);
    active.delete(name);
    memo.set(name, value);
    return value;
  };

  const measure = (selectionSet: SelectionSetNode | undefined): number => {
    let depth = 0;
    for (const selection of selectionSet?.selections ?? []) {
      const value =
        selection.kind === Kind.FIELD
          ? 1 + (isIntrospectionField(selection) ? 0 : measure(selection.selectionSet))
          : selection.kind === Kind.INLINE_FRAGMENT
            ? measure(selection.selectionSet)
            : fragment(selection.name.value);
      depth = Math.max(depth, value);
    }
    return depth;
  };
  return measure;
}

/**
 * Validation rules enforcing the depth and alias limits. Pass them to Apollo Server's
 * `validationRules` and to graphql-ws's validation alongside graphql's `specifiedRules`.
 * Each rule reports at most one error per operation (not one per field), with
 * `extensions.code = "GRAPHQL_VALIDATION_FAILED"`.
 *
 * - Depth: the deepest field of the operation, a top-level field being depth 1
 *   (`{ me { id } }` has depth 2). Fragments add no depth; `__typename` counts as a field;
 *   fields under `__schema`/`__type` are not counted (see isIntrospectionField).
 * - Aliases: every aliased field of the operation, fragments included once per spread.
 */
export function limitRules(limits: Pick<OperationLimits, "maxDepth" | "maxAliases">): ValidationRule[] {
  const depthRule: ValidationRule = (context: ValidationContext): ASTVisitor => {
    const depth = depthMeasure((name) => context.getFragment(name));
    return {
      OperationDefinition(operation) {
        const value = depth(operation.selectionSet);
        if (value > limits.maxDepth) {
          context.reportError(limitError(`Query depth ${value} exceeds the limit of ${limits.maxDepth}.`, operation));
        }
      },
    };
  };

  // graphql-armor counts (each fragment once, its count added at every spread); the limit and
  // the error are ours: armor is given no limit, so it hands every operation's count to onAccept.
  const aliasRule: ValidationRule = (context: ValidationContext): ASTVisitor => {
    let operation: OperationDefinitionNode | undefined;
    const report = (_: unknown, { n }: { n: number }) => {
      if (n <= limits.maxAliases) return;
      context.reportError(limitError(`Query uses ${n} aliases, which exceeds the limit of ${limits.maxAliases} per operation.`, operation));
    };
    // allowList: armor's default leaves aliases of __typename uncounted.
    const aliases = maxAliasesRule({ n: Infinity, allowList: [], onAccept: [report] })(context);
    return {
      OperationDefinition(node) {
        operation = node;
        aliases.onOperationDefinitionEnter(node);
      },
    };
  };

  return [depthRule, aliasRule];
}

/**
 * Parse options enforcing the token limit. Pass to `parse()` (and Apollo Server's
 * `parseOptions`). Over the limit, graphql's parser throws a syntax error
 * ("Document contains more that N tokens. Parsing aborted.") before building the AST.
 */
export function parseOptions(limits: Pick<OperationLimits, "maxTokens">): { maxTokens: number } {
  return { maxTokens: limits.maxTokens };
}

/**
 * Cost of one operation of `document` with the request's (raw) variables:
 *
 * - every field costs 1, plus its children's cost times a weight;
 * - a field with a `first` argument is paginated: weight = `first` from the literal, else
 *   the request variable, else the variable's default, else the argument's default,
 *   else DEFAULT_PAGE_SIZE (20). With `maxPageSize`, `first` is capped at it: a larger
 *   page never runs (the resolver answers BAD_USER_INPUT), and the client should get
 *   that error, not a cost error;
 * - a list field without `first` has weight UNPAGINATED_LIST_WEIGHT (10), except directly
 *   inside a paginated non-list field (a Relay connection's `edges`/`nodes`), whose
 *   length the connection's `first` already counted; other fields have weight 1;
 * - `__schema`/`__type` cost 1 (see isIntrospectionField);
 * - unknown fields cost 1 and their children are counted untyped (weight 1).
 *
 * The operation is `operationName`, or the only one. With several operations and no
 * name (execution will refuse it), the most expensive one; with an unknown name, 0.
 * Never throws on invalid documents; fragment cycles terminate.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
  operationName?: string | null,
  maxPageSize?: number,
): number {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const selected = operationName ? operations.filter((o) => o.name?.value === operationName) : operations;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  }
  let max = 0;
  for (const operation of selected) {
    const cost = new CostWalker(schema, fragments, operation, variables ?? {}, maxPageSize);
    max = Math.max(max, cost.selectionSet(operation.selectionSet, schema.getRootType(operation.operation), false));
  }
  return max;
}

/**
 * The cost limit as errors: `[]` when the selected operation is within `limits.maxCost`,
 * otherwise one GraphQLError with `extensions.code = "GRAPHQL_VALIDATION_FAILED"`.
 * Call it once the operation is known (Apollo's `didResolveOperation`, graphql-ws's
 * `onSubscribe`), after validation. Pass `maxPageSize` to cap `first` (see operationCost).
 */
export function costErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
  operationName: string | null | undefined,
  limits: Pick<OperationLimits, "maxCost"> & Partial<Pick<OperationLimits, "maxPageSize">>,
): GraphQLError[] {
  const cost = operationCost(schema, document, variables, operationName, limits.maxPageSize);
  if (cost <= limits.maxCost) return [];
  return [limitError(`Query cost ${cost} exceeds the limit of ${limits.maxCost}. ` + "Request fewer fields or smaller pages (`first`).")];
}

class CostWalker {
  // Memoised per fragment and `inPage` flag, for the same reason as in selectionMeasure.
  private readonly memo = new Map<string, number>();
  private readonly active = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly operation: OperationDefinitionNode,
    private readonly variables: Record<string, unknown>,
    private readonly maxPageSize: number | undefined,
  ) {}

  /** `inPage`: this selection set belongs to a paginated non-list field (a connection). */
  selectionSet(set: SelectionSetNode | undefined, parent: GraphQLNamedType | null | undefined, inPage: boolean): number {
    let total = 0;
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        total += this.field(selection, parent, inPage);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        total += this.selectionSet(selection.selectionSet, type, inPage);
      } else {
        total += this.fragment(selection.name.value, inPage);
      }
    }
    return total;
  }

  private fragment(name: string, inPage: boolean): number {
    const key = `${name}:${inPage}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const definition = this.fragments.get(name);
    if (!definition || this.active.has(name)) return 0;
    this.active.add(name);
    const type = this.schema.getType(definition.typeCondition.name.value);
    const value = this.selectionSet(definition.selectionSet, type, inPage);
    this.active.delete(name);
    this.memo.set(key, value);
    return value;
  }

  private field(node: FieldNode, parent: GraphQLNamedType | null | undefined, inPage: boolean): number {
    if (isIntrospectionField(node)) return 1;
    const definition: GraphQLField<unknown, unknown> | undefined =
      isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    if (!definition) return 1 + this.selectionSet(node.selectionSet, undefined, false);

    const isList = isListType(getNullableType(definition.type));
    const paginated = definition.args.some((a) => a.name === "first");
    const weight = paginated ? this.pageSize(node, definition) : isList && !inPage ? UNPAGINATED_LIST_WEIGHT : 1;
    const children = this.selectionSet(node.selectionSet, getNamedType(definition.type), paginated && !isList);
    return 1 + weight * children;
  }

  private pageSize(node: FieldNode, definition: GraphQLField<unknown, unknown>): number {
    const value = this.firstValue(node.arguments?.find((a) => a.name.value === "first")?.value);
    const fallback = definition.args.find((a) => a.name === "first")?.defaultValue;
    const first = value ?? (isCount(fallback) ? fallback : DEFAULT_PAGE_SIZE);
    return this.maxPageSize === undefined ? first : Math.min(first, this.maxPageSize);
  }

  /** The `first` given in the request, or undefined when absent, null or not a count. */
  private firstValue(node: ValueNode | undefined): number | undefined {
    if (node?.kind === Kind.INT) return isCount(Number(node.value)) ? Number(node.value) : undefined;
    if (node?.kind !== Kind.VARIABLE) return undefined;
    const name = node.name.value;
    const given = this.variables[name];
    if (isCount(given)) return given;
    if (given !== undefined) return undefined; // null or not a count: fall back to the defaults
    const declared = this.operation.variableDefinitions?.find((v) => v.variable.name.value === name);
    return declared?.defaultValue?.kind === Kind.INT ? Number(declared.defaultValue.value) : undefined;
  }
}

// Negative or fractional `first` values are rejected by coercion or the resolvers; only
// non-negative integers are used as weights, anything else falls back to a default.
function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/**
 * The validation rules both transports add to graphql-js's own: the depth and alias limits
 * and, with introspection off, graphql-js's NoSchemaIntrospectionCustomRule (the same rule
 * and message on HTTP and WebSocket).
 */
export function requestRules(limits: Pick<OperationLimits, "maxDepth" | "maxAliases">, introspection: boolean): ValidationRule[] {
  return [...limitRules(limits), ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];
}

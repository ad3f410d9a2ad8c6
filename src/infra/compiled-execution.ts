import type { ApolloServerOptionsWithGateway } from "@apollo/server";
import { GraphQLError, execute, getVariableValues, type DocumentNode, type ExecutionResult, type GraphQLSchema } from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";

/**
 * Executes documents that run again and again (a live operation once per event, a client's
 * query or mutation once per call) through graphql-jit: each (document, operation name) is
 * compiled into a function on its second execution, then costs a fraction of graphql-js's
 * interpretation (a fifth for a live frame, issue 10; its variables are coerced by compiled
 * code too). A document seen once runs on graphql-js, which costs less than compiling it, as
 * does one graphql-jit cannot compile. The results are the executor's usual ones: same data,
 * same errors (with their original errors) for the formatter.
 */
export class CompiledExecutor {
  /** Per document and operation name: its compiled operation; null: graphql-js runs it; "seen": it ran once. */
  private readonly compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null | "seen">>();

  constructor(private readonly schema: GraphQLSchema) {}

  execute(args: {
    document: DocumentNode;
    operationName?: string | null;
    rootValue: unknown;
    contextValue: unknown;
    variableValues?: Record<string, unknown> | null;
  }): Promise<ExecutionResult> | ExecutionResult {
    const query = this.compiledOf(args.document, args.operationName ?? undefined);
    if (!query) return execute({ schema: this.schema, ...args });
    const result = query.query(args.rootValue, args.contextValue, args.variableValues ?? {}) as Promise<ExecutionResult> | ExecutionResult;
    // Variables graphql-jit refuses come back as errors without data, worded its own way and
    // without the AST nodes Apollo reads to give them BAD_USER_INPUT. The callers hand it only
    // variables graphql-js accepted (HTTP judges them first, a live frame's were coerced when
    // it subscribed), so this is the case where graphql-jit is the stricter: the request runs
    // again on graphql-js, which decides as for a document seen once.
    const checked = (answer: ExecutionResult) => (answer.data === undefined && answer.errors ? execute({ schema: this.schema, ...args }) : answer);
    return result instanceof Promise ? result.then(checked) : checked(result);
  }

  private compiledOf(document: DocumentNode, operationName: string | undefined): CompiledQuery | null {
    let byName = this.compiled.get(document);
    if (!byName) this.compiled.set(document, (byName = new Map()));
    const key = operationName ?? "";
    const known = byName.get(key);
    if (known === undefined) {
      byName.set(key, "seen");
      return null;
    }
    if (known !== "seen") return known;
    const result = compileQuery(this.schema, document, operationName);
    const query = isCompiledQuery(result) ? result : null;
    byName.set(key, query);
    return query;
  }
}

/**
 * Apollo Server's executor for `schema` (its `gateway` option, the one way Apollo takes an
 * executor of our own): Apollo still parses, validates and caches each document and runs the
 * plugins; the execution is CompiledExecutor's.
 */
export function compiledGateway(schema: GraphQLSchema): ApolloServerOptionsWithGateway<object>["gateway"] {
  const executor = new CompiledExecutor(schema);
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: "" });
      return () => undefined;
    },
    async load() {
      return {
        // The operation the client named, as Apollo gives graphql-js (not the one Apollo resolved,
        // undefined when the document has no such operation: then only an error may come back).
        executor: async ({ document, request, context, operation }) => {
          const { operationName, variables } = request;
          // graphql-jit's compiled coercion lets through values graphql-js refuses (a list for
          // an input object, found by the fuzz test): graphql-js judges the variables first,
          // and a request it refuses is answered by graphql-js, running nothing.
          const judged = operation ? getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}) : undefined;
          if (judged?.errors) return execute({ schema, document, operationName, contextValue: context, variableValues: variables });
          const result = await executor.execute({ document, operationName, rootValue: undefined, contextValue: context, variableValues: variables });
          return result.errors ? { ...result, errors: result.errors.map(asGraphQLJsError) } : result;
        },
      };
    },
    async stop() {},
  };
}

/**
 * An error of graphql-jit as graphql-js makes it: Apollo reads `extensions` as an object,
 * which graphql-jit leaves undefined when the original error has none. graphql-js's own
 * errors (a document it ran) are kept as they are: Apollo reads their AST nodes.
 */
function asGraphQLJsError(error: GraphQLError): GraphQLError {
  if (error.constructor === GraphQLError) return error;
  const copy = new GraphQLError(error.message, { path: error.path, originalError: error.originalError, extensions: error.extensions });
  (copy as { locations?: GraphQLError["locations"] }).locations = error.locations;
  return copy;
}

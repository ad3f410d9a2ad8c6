import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  buildSchema,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from "graphql";
import { buildGraphQLSchema } from "../../src/schema/build-schema";

/**
 * Arguments of Query, Mutation and Subscription fields that need no description of their own:
 * the operation's description and the argument's type say it all. Kept short on purpose;
 * `first` and `after` are not here, as their limits and errors are worth reading.
 */
const SELF_EXPLANATORY_ARGS = new Set([
  "id", // the id of the object the operation is named after (joinSession(id), booking(id) …)
  "sessionId", // the session the operation acts on
  "input", // an input type, described with its fields
]);

const described = (text: string | null | undefined) => typeof text === "string" && text.trim() !== "";

/** What lacks a description, one line each: named types, their fields and input fields, root fields' arguments. */
function undescribed(schema: GraphQLSchema): string[] {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter((t) => t).map((t) => t!.name));
  const missing: string[] = [];
  const field = (type: GraphQLNamedType, f: GraphQLField<unknown, unknown>) => {
    if (!described(f.description)) missing.push(`field ${type.name}.${f.name}`);
    if (!roots.has(type.name)) return;
    for (const arg of f.args) {
      if (!SELF_EXPLANATORY_ARGS.has(arg.name) && !described(arg.description)) missing.push(`argument ${type.name}.${f.name}(${arg.name})`);
    }
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    if (!described(type.description)) missing.push(`type ${type.name}`);
    if (isObjectType(type) || isInterfaceType(type)) for (const f of Object.values(type.getFields())) field(type, f);
    if (isInputObjectType(type)) {
      for (const f of Object.values(type.getFields())) if (!described(f.description)) missing.push(`input field ${type.name}.${f.name}`);
    }
  }
  return missing.sort();
}

describe("the schema documents itself (GraphiQL's docs explorer is the integrator's manual)", () => {
  it("describes every type, field and input field, and the root fields' arguments", async () => {
    const missing = undescribed(await buildGraphQLSchema());
    assert.deepEqual(missing, [], `${missing.length} schema elements have no description:\n  ${missing.join("\n  ")}`);
  });

  it("lists every element without a description, whitespace counting as none", () => {
    const bare = buildSchema(`
      "Reads." type Query { "Described." ok(id: ID, first: Int, "Described." after: String): Thing  bare: Int }
      type Thing { "Described." a: Int  " " b: Int }
      input Filter { "Described." c: Int  d: Int }
    `);
    assert.deepEqual(undescribed(bare), ["argument Query.ok(first)", "field Query.bare", "field Thing.b", "input field Filter.d", "type Filter", "type Thing"]);
  });
});

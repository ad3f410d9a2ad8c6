import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  GraphQLError,
  Kind,
  buildSchema,
  getIntrospectionQuery,
  parse,
  printSchema,
  specifiedRules,
  validate,
  type GraphQLObjectType,
  type OperationDefinitionNode,
  type ValidationContext,
} from "graphql";
import { DEFAULT_OPERATION_LIMITS as LIMITS, costErrors, limitRules, operationCost, parseOptions } from "../../src/schema/operation-limits";

const schema = buildSchema(/* GraphQL */ `
  type User {
    id: ID!
    name: String!
    tags: [String!]!
    friends(first: Int): [User!]!
  }
  type UserEdge {
    cursor: String!
    node: User!
  }
  type UserConnection {
    totalCount: Int!
    edges: [UserEdge!]!
  }
  type Query {
    me: User!
    user(id: ID!): User
    users(first: Int): [User!]!
    allUsers: [User!]!
    search(first: Int = 5): UserConnection!
  }
`);

const CODE = "GRAPHQL_VALIDATION_FAILED";

/** All of graphql's rules plus ours, as both transports run them. */
function check(source: string): readonly GraphQLError[] {
  const document = parse(source, parseOptions(LIMITS));
  return validate(schema, document, [...specifiedRules, ...limitRules(LIMITS)]);
}

function cost(source: string, variables?: Record<string, unknown>, operationName?: string): number {
  return operationCost(schema, parse(source), variables, operationName);
}

/** `{ me { friends { friends ... { id } } } }` with `friends` nested `levels` times. */
function nestedFriends(levels: number): string {
  return `{ me { ${"friends { ".repeat(levels)}id${" }".repeat(levels)} } }`;
}

function aliases(count: number): string {
  return `{ ${Array.from({ length: count }, (_, i) => `a${i}: me { id }`).join(" ")} }`;
}

describe("operation limits", () => {
  it("lets a normal query through every rule and the cost limit", () => {
    const source = `
      query Dashboard($n: Int = 10) {
        me { id name tags friends(first: 5) { id name } }
        users(first: $n) { ...UserBits }
        search(first: 20) { totalCount edges { cursor node { id } } }
      }
      fragment UserBits on User { id first: name }
    `;
    assert.deepEqual(check(source), []);
    assert.deepEqual(costErrors(schema, parse(source), {}, null, LIMITS), []);
  });

  describe("depth", () => {
    it("counts a top-level field as depth 1", () => {
      // `{ me { id } }` has depth 2: passes with a limit of 2, fails with 1.
      const document = parse("{ me { id } }");
      assert.deepEqual(validate(schema, document, limitRules({ maxDepth: 2, maxAliases: 15 })), []);
      const errors = validate(schema, document, limitRules({ maxDepth: 1, maxAliases: 15 }));
      assert.deepEqual(
        errors.map((e) => e.message),
        ["Query depth 2 exceeds the limit of 1."],
      );
    });

    it("accepts depth 10 and rejects depth 11 once, with the code and the limit", () => {
      assert.deepEqual(check(nestedFriends(8)), []); // me + 8 friends + id = 10
      const errors = check(nestedFriends(9)); // 11
      assert.equal(errors.length, 1);
      assert.equal(errors[0].message, "Query depth 11 exceeds the limit of 10.");
      assert.equal(errors[0].extensions.code, CODE);
    });

    it("follows fragment spreads and inline fragments, and counts __typename", () => {
      const source = `
        { me { ...Deep } }
        fragment Deep on User { friends { ... on User { friends { friends { friends {
          friends { friends { friends { friends { __typename } } } } } } } } } }
      `; // me + 8 × friends + __typename = 10
      assert.deepEqual(check(source), []);
      const deeper = source.replace("__typename", "friends { __typename }");
      assert.deepEqual(
        check(deeper).map((e) => e.message),
        ["Query depth 11 exceeds the limit of 10."],
      );
    });

    it("reports once per operation, however many fields are too deep", () => {
      const deep = nestedFriends(12).slice(1, -1); // strip the outer braces
      const errors = check(`query A { ${deep} b: ${deep} } query B { ${deep} }`);
      assert.deepEqual(
        errors.map((e) => e.message),
        ["Query depth 14 exceeds the limit of 10.", "Query depth 14 exceeds the limit of 10."],
      );
    });

    it("passes the standard introspection query (GraphiQL)", () => {
      const document = parse(getIntrospectionQuery(), parseOptions(LIMITS));
      assert.deepEqual(validate(schema, document, [...specifiedRules, ...limitRules(LIMITS)]), []);
      assert.deepEqual(costErrors(schema, document, {}, "IntrospectionQuery", LIMITS), []);
      // ...while the same nesting outside __schema/__type would be refused.
      assert.equal(check(nestedFriends(11)).length, 1);
    });
  });

  describe("aliases", () => {
    it("accepts 15 aliases and rejects 16 with the code", () => {
      assert.deepEqual(check(aliases(15)), []);
      const errors = check(aliases(16));
      assert.equal(errors.length, 1);
      assert.equal(errors[0].message, "Query uses 16 aliases, which exceeds the limit of 15 per operation.");
      assert.equal(errors[0].extensions.code, CODE);
    });

    it("rejects an alias bomb of 100 with one error", () => {
      const errors = check(aliases(100));
      assert.deepEqual(
        errors.map((e) => e.message),
        ["Query uses 100 aliases, which exceeds the limit of 15 per operation."],
      );
    });

    it("counts aliases inside fragments once per spread", () => {
      const fragment = "fragment F on User { a: id b: name }";
      assert.deepEqual(check(`{ ${aliases(7).slice(1, -1)} me { ...F } } ${fragment}`), []); // 7 + 2 = 9
      const errors = check(`{ x: me { ...F } y: me { ...F } z: me { ...F ...F ...F ...F ...F } } ${fragment}`);
      assert.deepEqual(
        errors.map((e) => e.message),
        [
          "Query uses 17 aliases, which exceeds the limit of 15 per operation.", // 3 + 7 spreads × 2
        ],
      );
    });
  });

  describe("tokens", () => {
    it("parses a normal document under the limit", () => {
      assert.equal(parse(aliases(15), parseOptions(LIMITS)).definitions.length, 1);
      assert.deepEqual(parseOptions({ maxTokens: 2000 }), { maxTokens: 2000 });
    });

    it("aborts parsing a document of 10 000 repeated fields with a syntax error", () => {
      const source = `{ me { ${"id ".repeat(10_000)}} }`;
      assert.throws(
        () => parse(source, parseOptions(LIMITS)),
        (error: unknown) => error instanceof GraphQLError && error.message === "Syntax Error: Document contains more that 2000 tokens. Parsing aborted.",
      );
      // Without the option the same document parses: the limit is what stops it.
      assert.equal(parse(source).kind, "Document");
    });
  });

  describe("cost", () => {
    it("costs 1 per field", () => {
      assert.equal(cost("{ me { id name } }"), 3);
      assert.equal(cost("{ me { tags } }"), 2); // a list of scalars has no children to multiply
    });

    it("weights a list field by a literal first", () => {
      assert.equal(cost("{ users(first: 50) { id name } }"), 1 + 50 * 2);
      assert.equal(cost("{ users(first: 3) { id name } }"), 1 + 3 * 2);
    });

    it("weights a list field by first from the variables, then the variable default, then 20", () => {
      const source = "query Q($n: Int) { users(first: $n) { id name } }";
      assert.equal(cost(source, { n: 7 }), 1 + 7 * 2);
      assert.equal(cost(source, { n: 40 }), 1 + 40 * 2);
      assert.equal(cost(source, {}), 1 + 20 * 2);
      assert.equal(cost(source, undefined), 1 + 20 * 2);
      assert.equal(cost("query Q($n: Int = 3) { users(first: $n) { id } }", {}), 1 + 3 * 1);
      assert.equal(cost("{ users { id } }"), 1 + 20 * 1);
    });

    it("uses the argument default, and does not weight a connection page twice", () => {
      // search(first: Int = 5): edges are the page, not another list.
      assert.equal(cost("{ search { totalCount edges { node { id } } } }"), 1 + 5 * (1 + (1 + (1 + 1))));
      assert.equal(cost("{ search(first: 2) { totalCount } }"), 1 + 2 * 1);
    });

    it("weights a list field without first by 10", () => {
      assert.equal(cost("{ allUsers { id name } }"), 1 + 10 * 2);
    });

    it("multiplies nested pages and follows fragments", () => {
      const source = "{ users(first: 10) { ...F } } fragment F on User { id friends(first: 4) { ... on User { id } } }";
      assert.equal(cost(source), 1 + 10 * (1 + (1 + 4 * 1)));
    });

    it("costs the named operation, or the only one", () => {
      const source = "query Small { me { id } } query Big { users(first: 9) { id } }";
      assert.equal(cost(source, {}, "Small"), 2);
      assert.equal(cost(source, {}, "Big"), 10);
      assert.equal(cost(source, {}, "Missing"), 0);
      assert.equal(operationCost(schema, parse("{ users(first: 9) { id } }"), {}, null), 10);
    });

    it("rejects a query over the limit with the code", () => {
      const document = parse("{ users(first: 100) { friends(first: 100) { id } } }"); // 1 + 100 × 101
      assert.equal(operationCost(schema, document, {}), 10_101);
      const errors = costErrors(schema, document, {}, undefined, LIMITS);
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /^Query cost 10101 exceeds the limit of 5000\./);
      assert.equal(errors[0].extensions.code, CODE);
      assert.deepEqual(costErrors(schema, document, {}, undefined, { maxCost: 20_000 }), []);
    });

    it("caps first at maxPageSize so an oversized page gets the resolver error, not a cost error", () => {
      const document = parse("query($n: Int) { users(first: $n) { id } }");
      assert.equal(operationCost(schema, document, { n: 99_999_999 }), 1 + 99_999_999);
      assert.equal(operationCost(schema, document, { n: 99_999_999 }, undefined, 100), 1 + 100);
      assert.deepEqual(costErrors(schema, document, { n: 99_999_999 }, undefined, LIMITS), []);
      assert.equal(costErrors(schema, document, { n: 99_999_999 }, undefined, { maxCost: 5000 }).length, 1);
    });

    it("does not throw on unknown fields, types or fragments", () => {
      assert.equal(cost("{ nope { deeper { x } } me { id } }"), 1 + (1 + 1) + 2);
      assert.equal(cost("{ me { ... on Nope { id } ...Missing } }"), 2);
      assert.equal(cost("fragment F on User { id }"), 0);
    });
  });

  describe("fragment cycles and fan-out", () => {
    const cycle = `
      { me { ...A } }
      fragment A on User { a: friends { ...B } }
      fragment B on User { b: friends { ...A } }
    `;

    it("terminates: validation reports the cycle, cost is finite", () => {
      const messages = check(cycle).map((e) => e.message);
      assert.ok(messages.includes('Cannot spread fragment "A" within itself via "B".'), messages.join("\n"));
      assert.equal(cost(cycle), 1 + (1 + 20 * (1 + 20 * 0))); // the cyclic spread counts 0
    });

    // Fragment F<i> spreads F<i+1> twice: walking it naively visits 2^levels fragments.
    function fanOut(levels: number): string {
      const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on User { a: id ${i < levels - 1 ? `...F${i + 1} ...F${i + 1}` : ""} }`);
      return `{ me { ...F0 } }\n${fragments.join("\n")}`;
    }

    it("walks each fragment once, however often it is spread", () => {
      const document = parse(fanOut(12));
      const operation = document.definitions[0] as OperationDefinitionNode;
      const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
      const reported: GraphQLError[] = [];
      let lookups = 0;
      const context = {
        getFragment: (name: string) => (lookups++, fragments.get(name)),
        reportError: (error: GraphQLError) => reported.push(error),
      } as unknown as ValidationContext;
      for (const rule of limitRules(LIMITS)) {
        const visitor = rule(context) as { OperationDefinition: (node: OperationDefinitionNode) => void };
        visitor.OperationDefinition(operation);
      }
      assert.equal(lookups, 2 * 12); // each rule fetches each of the 12 fragments once (2^12 - 1 spreads)
      assert.deepEqual(
        reported.map((e) => e.message),
        [`Query uses ${2 ** 12 - 1} aliases, which exceeds the limit of 15 per operation.`],
      );

      // Same for cost: count how often User's fields are looked up, on a private schema copy.
      const countingSchema = buildSchema(printSchema(schema));
      const user = countingSchema.getType("User") as GraphQLObjectType;
      const getFields = user.getFields.bind(user);
      let fieldLookups = 0;
      user.getFields = () => (fieldLookups++, getFields());
      assert.equal(operationCost(countingSchema, document, {}), 1 + (2 ** 12 - 1));
      assert.equal(fieldLookups, 12); // one `a: id` per fragment, not per spread
    });

    it("measures fragments spread twice at each of 40 levels without exponential time", () => {
      const source = fanOut(40);
      const errors = validate(schema, parse(source), limitRules(LIMITS));
      assert.deepEqual(
        errors.map((e) => e.message),
        [`Query uses ${2 ** 40 - 1} aliases, which exceeds the limit of 15 per operation.`],
      );
      assert.equal(cost(source), 1 + (2 ** 40 - 1));
    });
  });
});

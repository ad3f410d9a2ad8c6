/**
 * query: HTTP requests per second of one session query (participants' names and the first
 * 20 timeline events) from CLIENTS concurrent clients. Baseline: bare node:http +
 * graphql-js `execute` over the same database through `pg` with hand-written SQL (no auth,
 * no limits; parsed documents cached, as Apollo does). Checked: every response equals the
 * baseline's. Both sides are warmed up by a second of the same load first.
 */
import http from "node:http";
import { buildSchema, execute, parse, validate, type DocumentNode } from "graphql";
import { Pool } from "pg";
import { gql, postJson } from "../lib/clients";
import { check, scaledMs } from "../lib/measure";
import { alternate, embeddedRounds, med, row, type Scenario } from "../lib/scenario";
import { createSession, registerUser, type SeededUser } from "../lib/stack";
import { strokeBatch } from "./ingest";

const CLIENTS = 20;
const STUDENTS = 10;
const QUERY = `query($id: ID!) { session(id: $id) { participants { user { displayName } } timeline(first: 20) { edges { node { type } } } } }`;

interface Sample {
  requests: number;
  perSec: number;
}

export const remote = {
  /** CLIENTS loops posting the query for `durationMs`; every answer must be `expected`. */
  async load(a: { url: string; token?: string; id: string; expected: string; durationMs: number }): Promise<Sample> {
    const headers: Record<string, string> = a.token ? { authorization: `Bearer ${a.token}` } : {};
    const body = { query: QUERY, variables: { id: a.id } };
    let requests = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() - t0 < a.durationMs) {
          const answer = await postJson(`${a.url}/graphql`, body, headers);
          const got = JSON.stringify(answer);
          check(got === a.expected, `query: answer differs from the baseline's:\n  got      ${got.slice(0, 300)}\n  expected ${a.expected.slice(0, 300)}`);
          requests++;
        }
      }),
    );
    const ms = performance.now() - t0;
    return { requests, perSec: Math.round((requests * 1000) / ms) };
  },

  /** The baseline: graphql-js over a hand-written schema slice and hand-written SQL. */
  async serve(a: { databaseUrl: string }): Promise<{ url: string }> {
    const server = http.createServer(sessionPageHandler(new Pool({ connectionString: a.databaseUrl, max: 10 })));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
  },
};

/**
 * The baseline's answer to the session page (QUERY) on `db`, as a node:http request
 * listener for POSTed GraphQL JSON: graphql-js `execute` over a hand-written schema slice and
 * hand-written SQL, parsed documents cached. Shared with classroom's stand-in servers, so
 * that both compare the project's page with one and the same baseline.
 */
export function sessionPageHandler(db: Pool): http.RequestListener {
  const schema = buildSchema(`
    type Query { session(id: ID!): Session }
    type Session { participants: [Participant!]! timeline(first: Int): TimelineConnection! }
    type Participant { user: User! }
    type User { displayName: String! }
    type TimelineConnection { edges: [TimelineEdge!]! }
    type TimelineEdge { node: TimelineEvent! }
    type TimelineEvent { type: String! }
  `);
  const root = {
    async session({ id }: { id: string }) {
      const { rows } = await db.query(`SELECT id FROM classroom_sessions WHERE id = $1`, [id]);
      if (!rows[0]) return null;
      return {
        async participants() {
          const r = await db.query(
            `SELECT u.display_name FROM session_participants p JOIN users u ON u.id = p.user_id WHERE p.session_id = $1 ORDER BY p.created_at, p.id`,
            [id],
          );
          return r.rows.map((p) => ({ user: { displayName: p.display_name } }));
        },
        async timeline({ first }: { first?: number }) {
          const r = await db.query(`SELECT type FROM session_events WHERE session_id = $1 ORDER BY seq LIMIT $2`, [id, first ?? 20]);
          return { edges: r.rows.map((e) => ({ node: { type: e.type } })) };
        },
      };
    },
  };
  const documents = new Map<string, DocumentNode>();
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const { query, variables } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      let document = documents.get(query);
      if (!document) {
        document = parse(query);
        const errors = validate(schema, document);
        if (errors.length) return res.writeHead(400).end(JSON.stringify({ errors }));
        documents.set(query, document);
      }
      const result = await execute({ schema, document, rootValue: root, variableValues: variables });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(result));
    });
  };
}

export const query: Scenario = {
  name: "query",
  async run(ctx) {
    return ctx.withServer(async (server) => {
      const [tutor] = await ctx.stack.seedUsers("query-tutor", 1, "TUTOR");
      const students = await ctx.stack.seedUsers("query-student", STUDENTS, "STUDENT");
      const id = await pageSession(server.url, tutor, students);

      const baselineWorker = ctx.startBaseline();
      const baseline = await baselineWorker.call<{ url: string }>("query", "serve", { databaseUrl: ctx.stack.databaseUrl });
      const expected = JSON.stringify(await postJson(`${baseline.url}/graphql`, { query: QUERY, variables: { id } }));
      const durationMs = scaledMs(5000);
      // Both sides take the same load for a second first, not measured: the API server compiles
      // its hot paths then, which would otherwise land in its first round only.
      const warmUpMs = scaledMs(1000);
      await ctx.load.call<Sample>("query", "load", { url: server.url, token: tutor.token, id, expected, durationMs: warmUpMs });
      await ctx.load.call<Sample>("query", "load", { url: baseline.url, id, expected, durationMs: warmUpMs });
      ctx.log(`${CLIENTS} clients, ${durationMs} ms per round after ${warmUpMs} ms of warm-up`);
      const samples = await alternate(
        ctx,
        () => ctx.load.call<Sample>("query", "load", { url: server.url, token: tutor.token, id, expected, durationMs }),
        () => ctx.load.call<Sample>("query", "load", { url: baseline.url, id, expected, durationMs }),
      );
      // The same session on the embedded default: users of the same names, joined in the same
      // order, so its every answer must be the baseline's too.
      const embedded = await ctx.withEmbeddedServer(async (embeddedServer) => {
        const owner = await registerUser(embeddedServer.url, "query-tutor", 1, "TUTOR");
        const joiners: SeededUser[] = [];
        for (let n = 1; n <= STUDENTS; n++) joiners.push(await registerUser(embeddedServer.url, "query-student", n, "STUDENT"));
        const embeddedId = await pageSession(embeddedServer.url, owner, joiners);
        const load = { url: embeddedServer.url, token: owner.token, id: embeddedId, expected, durationMs };
        await ctx.load.call<Sample>("query", "load", { ...load, durationMs: warmUpMs });
        return embeddedRounds(ctx, () => ctx.load.call<Sample>("query", "load", load));
      });
      return [
        {
          ...row(
            "query",
            "requests/s",
            med(samples.project, (s) => s.perSec),
            med(samples.baseline, (s) => s.perSec),
            { op: ">=", value: 0.6 },
          ),
          embedded: med(embedded, (s) => s.perSec),
        },
      ];
    }, "timeline");
  },
};

/**
 * The session the page query reads: `tutor`'s, `students` joined one at a time (so the
 * participants' order, by joining time, is unambiguous), started, 100 strokes on its board.
 */
async function pageSession(url: string, tutor: SeededUser, students: SeededUser[]): Promise<string> {
  const id = await createSession(url, tutor, [], false);
  const { session } = await gql(url, `query($s: ID!) { session(id: $s) { accessCode } }`, { s: id }, tutor.token);
  for (const s of students)
    await gql(url, `mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: session.accessCode }, s.token);
  await gql(url, `mutation($s: ID!) { startSession(id: $s) { status } }`, { s: id }, tutor.token);
  await gql(
    url,
    `mutation($s: ID!, $e: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $e) { version } }`,
    { s: id, e: strokeBatch(0, 100, 0) },
    tutor.token,
  );
  return id;
}

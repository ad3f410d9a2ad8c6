import { after, before, describe, it } from "node:test";
import type { Logger as TypeOrmLogger } from "typeorm";
import { backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";
const PAGE = `query($id: ID!) { session(id: $id) { participants { user { displayName } } timeline(first: 20) { edges { node { type } } } } }`;
for (const backend of backends.filter((b) => b.name === "real")) {
  describe("probe", { skip: backend.skip }, () => {
    let server: TestServer;
    const statements: Array<[string, unknown[]]> = [];
    before(async () => {
      server = await startTestServer(backend);
      Object.assign(server.app.db.logger, { logQuery: (q: string, p: unknown[]) => void statements.push([q, p ?? []]) } as Partial<TypeOrmLogger>);
    });
    after(() => server?.stop());
    it("explains", async () => {
      const { tutor, students: [ann], sessionId } = await activeLesson(server, 8);
      const events = Array.from({ length: 30 }, (_, i) => ({ clientOpId: `op-${i}`, type: "STROKE", baseVersion: 0, data: { id: `o${i}`, points: [[1, 2], [3, 4], [5, 6]], color: "#1e88e5", width: 2 } }));
      await server.gql(`mutation($s: ID!, $e: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $e) { version } }`, { s: sessionId, e: events }, tutor.token);
      statements.length = 0;
      await server.gql(PAGE, { id: sessionId }, ann.token);
      const list = statements.splice(0);
      for (const [q, p] of list) {
        for (let i = 0; i < 30; i++) await server.app.db.query(q, p);
        const rows = await server.app.db.query(`EXPLAIN (ANALYZE, SUMMARY, TIMING OFF) ${q}`, p);
        const lines = rows.map((r: Record<string, string>) => r["QUERY PLAN"]);
        console.log(q.slice(0, 60).replace(/\s+/g, " "), "|", lines.filter((l: string) => /Planning|Execution/.test(l)).join(" | "));
      }
    });
  });
}

/**
 * connections: CONNECTIONS idle authenticated subscribers (graphql-ws, each its own user's
 * token, each with a `myProfile` subscription) held open against a freshly started server
 * process. Baseline: a bare `ws` server holding the same number of sockets (it answers the
 * same init and subscribe messages, without any auth or GraphQL). Measured: resident memory
 * growth of the server process per connection. Checked: every socket acknowledged and its
 * subscription's first frame received.
 */
import http from "node:http";
import { WebSocketServer } from "ws";
import { connectGraphqlWs, connectPlainWs, pool } from "../lib/clients";
import { check, rssBytes, scaled, sleep } from "../lib/measure";
import { alternate, med, row, type Scenario } from "../lib/scenario";

const CONNECTIONS = 2000;
const SETTLE_MS = 1500;

let open: Array<() => void> = [];

export const remote = {
  /** Opens one subscriber per token; answers how many were acknowledged and subscribed. */
  async open(a: { side: "project" | "baseline"; url: string; tokens: string[] }): Promise<{ subscribed: number }> {
    let subscribed = 0;
    await pool(a.tokens.length, 32, async (i) => {
      await new Promise<void>((resolve, reject) => {
        const first = () => {
          subscribed++;
          resolve();
        };
        if (a.side === "project") {
          void connectGraphqlWs(a.url, a.tokens[i], { next: first, end: (_id, err) => reject(new Error(`subscription ended: ${JSON.stringify(err)}`)) }).then(
            (conn) => {
              conn.subscribe("1", "subscription { myProfile { id } }");
              open.push(() => conn.close());
            },
            reject,
          );
        } else {
          void connectPlainWs(a.url.replace(/^http/, "ws")).then((ws) => {
            ws.on("message", (data) => {
              const msg = JSON.parse(String(data));
              if (msg.type === "connection_ack")
                ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { myProfile { id } }" } }));
              if (msg.type === "next") first();
            });
            ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${a.tokens[i]}` } }));
            open.push(() => ws.terminate());
          }, reject);
        }
      });
    });
    return { subscribed };
  },

  async closeAll(): Promise<void> {
    open.forEach((close) => close());
    open = [];
  },

  /** The bare baseline: holds sockets, answers init with an ack and subscribe with one frame. */
  async serve(): Promise<{ url: string; pid: number }> {
    const server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on("connection", (socket) => {
      socket.on("message", (data) => {
        const msg = JSON.parse(String(data));
        if (msg.type === "connection_init") socket.send('{"type":"connection_ack"}');
        else if (msg.type === "subscribe") socket.send(JSON.stringify({ id: msg.id, type: "next", payload: { data: { myProfile: { id: "u" } } } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, pid: process.pid };
  },
};

interface Sample {
  subscribed: number;
  bytesPerConnection: number;
}

export const connections: Scenario = {
  name: "connections",
  async run(ctx) {
    const count = scaled(CONNECTIONS, 20);
    const users = await ctx.stack.seedUsers("connections", count, "STUDENT");
    const tokens = users.map((u) => u.token);
    /** Memory growth of `pid` while `count` subscribers are open. */
    const measure = async (side: "project" | "baseline", url: string, pid: number): Promise<Sample> => {
      await sleep(SETTLE_MS);
      const before = rssBytes(pid);
      const { subscribed } = await ctx.load.call<{ subscribed: number }>("connections", "open", { side, url, tokens });
      await sleep(SETTLE_MS);
      const after = rssBytes(pid);
      await ctx.load.call("connections", "closeAll");
      check(subscribed === count, `connections: ${subscribed} of ${count} subscribers acknowledged`);
      return { subscribed, bytesPerConnection: Math.round((after - before) / count) };
    };
    ctx.log(`${count} subscribers; a fresh server process per round`);
    const samples = await alternate(
      ctx,
      async (round) => {
        const server = await ctx.stack.startServer(ctx.profileName(`round${round + 1}`));
        try {
          return await measure("project", server.url, server.pid);
        } finally {
          await server.stop();
        }
      },
      async () => {
        const worker = ctx.startBaseline();
        const baseline = await worker.call<{ url: string; pid: number }>("connections", "serve");
        try {
          return await measure("baseline", baseline.url, baseline.pid);
        } finally {
          await worker.stop();
        }
      },
    );
    const project = med(samples.project, (s) => s.bytesPerConnection);
    const baseline = med(samples.baseline, (s) => s.bytesPerConnection);
    return [
      row(
        "connections",
        "KiB RSS/connection",
        project / 1024,
        baseline / 1024,
        { op: "<=", value: 1.5 },
        "resident memory growth while open, fresh process per round; goal of issue 10 (BENCHMARKS.md: 2)",
      ),
    ];
  },
};

/**
 * Lean clients for the load generators: JSON over keep-alive HTTP, and the
 * graphql-transport-ws protocol spoken directly over `ws` (no client library in the
 * measured path, on either side).
 */
import http from "node:http";
import WebSocket from "ws";

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/**
 * POSTs JSON, answers the parsed JSON body; rejects on a non-2xx status. A kept-alive socket
 * the server closed as it was reused (its idle timeout) is retried on another, as Node's
 * documentation advises, up to twice (the server closes idle sockets together, so the next
 * free one may be closing too); every request the harness sends may be repeated (board ops
 * carry clientOpIds).
 */
export async function postJson<T = any>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  const payload = Buffer.from(JSON.stringify(body));
  for (let attempt = 1; ; attempt++) {
    try {
      return await send<T>(url, payload, headers);
    } catch (err) {
      const { code, reusedSocket } = err as { code?: string; reusedSocket?: boolean };
      if (!(reusedSocket && code === "ECONNRESET" && attempt < 3)) throw err;
    }
  }
}

function send<T>(url: string, payload: Buffer, headers: Record<string, string>): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": payload.length, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if ((res.statusCode ?? 0) >= 300) return reject(new Error(`HTTP ${res.statusCode} from ${url}: ${text.slice(0, 500)}`));
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new Error(`not JSON from ${url}: ${text.slice(0, 200)}`));
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
    req.end(payload);
  });
}

/** A GraphQL request over HTTP; throws on errors, answers `data`. */
export async function gql<T = any>(baseUrl: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const body = await postJson<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }>(
    `${baseUrl}/graphql`,
    { query, variables },
    token ? { authorization: `Bearer ${token}` } : {},
  );
  if (body.errors?.length) {
    const [first] = body.errors;
    throw new Error(`GraphQL ${first.extensions?.code ?? "error"}: ${first.message}`);
  }
  return body.data as T;
}

export interface WsHandlers {
  /** A `next` payload of operation `id`. */
  next?: (id: string, payload: any) => void;
  /** A `complete` or `error` of operation `id`. */
  end?: (id: string, error?: unknown) => void;
  close?: (code: number, reason: string) => void;
}

/**
 * One graphql-transport-ws connection, resolved once acknowledged. `subscribe` starts an
 * operation (subscription, or a mutation whose single result arrives as `next`).
 */
export async function connectGraphqlWs(baseUrl: string, token: string, handlers: WsHandlers) {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws", { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => reject(err instanceof Error ? err : new Error(String(err)));
    ws.once("error", fail);
    ws.once("close", (code, reason) => fail(new Error(`closed ${code} ${reason} before connection_ack`)));
    ws.once("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })));
    ws.once("message", (data) => {
      const msg = JSON.parse(String(data));
      if (msg.type !== "connection_ack") return fail(new Error(`expected connection_ack, got ${msg.type}`));
      ws.removeAllListeners("error");
      ws.removeAllListeners("close");
      resolve();
    });
  });
  ws.on("error", () => undefined);
  ws.on("close", (code, reason) => handlers.close?.(code, String(reason)));
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    if (msg.type === "next") handlers.next?.(msg.id, msg.payload);
    else if (msg.type === "complete") handlers.end?.(msg.id);
    else if (msg.type === "error") handlers.end?.(msg.id, msg.payload);
    else if (msg.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
  });
  return {
    ws,
    subscribe(id: string, query: string, variables: Record<string, unknown> = {}) {
      ws.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } }));
    },
    close() {
      ws.terminate();
    },
  };
}

export type GraphqlWsConnection = Awaited<ReturnType<typeof connectGraphqlWs>>;

/** A plain WebSocket to a baseline server, resolved once open. */
export function connectPlainWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Runs `fn(i)` for i in 0..n-1 with at most `concurrency` at a time. */
export async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++;
        results[i] = await fn(i);
      }
    }),
  );
  return results;
}

import assert from "node:assert/strict";
import WebSocket from "ws";
import type { TestServer } from "./test-server";

// Raw graphql-ws sockets for tests that must see or send exact protocol frames: every wait is
// on an event (message, close), bounded by the test's timeout.

export const PROTOCOL = "graphql-transport-ws";

/** A queue one consumer awaits; `final` (a close, an end) is answered to every later take. */
export class Inbox<E> {
  private readonly items: E[] = [];
  private readonly takers: Array<(e: E) => void> = [];
  private final?: E;
  push(event: E, final = false): void {
    if (this.final) return;
    if (final) this.final = event;
    const taker = this.takers.shift();
    if (taker) taker(event);
    else this.items.push(event);
    if (final) for (const t of this.takers.splice(0)) t(event);
  }
  take(): Promise<E> {
    const item = this.items.shift() ?? this.final;
    return item ? Promise.resolve(item) : new Promise((resolve) => this.takers.push(resolve));
  }
}

export type RawEvent = { message: any } | { close: number; reason: string };
const rawSockets = new Set<WebSocket>();

/** Ends every raw socket opened so far (after each test). */
export function terminateRawSockets(): void {
  for (const ws of rawSockets) ws.terminate();
  rawSockets.clear();
}

/** A raw `ws` socket (graphql-transport-ws unless told), its frames and its close as events. */
export async function rawSocket(server: TestServer, options: { protocol?: string | null; headers?: Record<string, string> } = {}) {
  const protocol = options.protocol === undefined ? PROTOCOL : options.protocol;
  const ws = new WebSocket(server.wsUrl, protocol === null ? [] : [protocol], { headers: options.headers });
  rawSockets.add(ws);
  const inbox = new Inbox<RawEvent>();
  ws.on("message", (data) => {
    const text = String(data);
    let message: unknown = text;
    try {
      message = JSON.parse(text);
    } catch {
      // kept as text
    }
    inbox.push({ message });
  });
  ws.on("close", (code, reason) => inbox.push({ close: code, reason: String(reason) }, true));
  ws.on("error", () => undefined); // the close event reports what happened
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return {
    ws,
    send: (message: object | string) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
    event: () => inbox.take(),
    /** The next frame; fails if the socket closes first. */
    async next(): Promise<any> {
      const event = await inbox.take();
      if ("close" in event) throw new Error(`socket closed ${event.close} (${event.reason}) while a frame was awaited`);
      return event.message;
    },
    /** The close code, failing on any frame received before it. */
    async closeCode(): Promise<number> {
      const event = await inbox.take();
      if (!("close" in event)) throw new Error(`expected a close, got the frame ${JSON.stringify(event.message)}`);
      return event.close;
    },
  };
}
export type RawSocket = Awaited<ReturnType<typeof rawSocket>>;

/** A raw socket that sent connection_init (with `payload`, if given) and got connection_ack. */
export async function ackedSocket(server: TestServer, payload?: Record<string, unknown>): Promise<RawSocket> {
  const socket = await rawSocket(server);
  socket.send({ type: "connection_init", ...(payload ? { payload } : {}) });
  assert.equal((await socket.next()).type, "connection_ack");
  return socket;
}

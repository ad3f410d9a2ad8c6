import type { Socket } from "node:net";
import { WebSocket } from "ws";

/**
 * How a frame reaches the network: the frames written to one socket in one turn leave in one
 * system call (a mutation's `next` and `complete`, a batch of events, several subscriptions
 * of one socket), not one each.
 */

/** Socket errors that mean the client is gone (or its socket was torn down), not that the server failed. */
const PEER_GONE = new Set(["EPIPE", "ECONNRESET", "ERR_STREAM_DESTROYED"]);

/**
 * Below this many unsent bytes a graphql-ws send counts as done once queued. Above it,
 * graphql-ws waits for the flush as before: a client that does not read slows down its own
 * operations and holds no more than this in memory for them.
 */
const QUEUED_IS_SENT_BYTES = 64 * 1024;

/** Sockets holding back their writes until the current turn's frames are all queued. */
const corked = new Set<Socket>();

/** The TCP connection under a ws socket (ws keeps it as `_socket`). */
function connectionOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as { _socket?: Socket })._socket;
}

function corkUntilNextTick(socket: WebSocket): void {
  const raw = connectionOf(socket);
  if (!raw || corked.has(raw)) return;
  if (corked.size === 0) process.nextTick(uncorkAll);
  corked.add(raw);
  raw.cork();
}

function uncorkAll(): void {
  for (const raw of corked) raw.uncork();
  corked.clear();
}

/** Bytes of the WebSocket header of an unmasked frame (server to client) with `payloadBytes`. */
export function frameHeaderBytes(payloadBytes: number): number {
  return payloadBytes < 126 ? 2 : payloadBytes < 65_536 ? 4 : 10;
}

/**
 * Writes the header of a final, unmasked text frame of `payloadBytes` at the start of `frame`
 * (RFC 6455 5.2; frameHeaderBytes long), as ws would: the payload follows it in the buffer.
 */
export function writeTextFrameHeader(frame: Buffer, payloadBytes: number): void {
  frame[0] = 0x81; // FIN, text
  if (payloadBytes < 126) frame[1] = payloadBytes;
  else if (payloadBytes < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(payloadBytes, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(payloadBytes / 2 ** 32), 2);
    frame.writeUInt32BE(payloadBytes % 2 ** 32, 6);
  }
}

/**
 * Writes a complete text frame (header included, see writeTextFrameHeader) to an open
 * socket's connection in one buffer: no framing, header buffer or vectored write of ws's per
 * subscriber, and in order with ws's own sends, which go to the same connection at once (no
 * compression is negotiated). `flushed` runs once it has left this process, not when it is
 * queued (SharedStream counts the frames a slow socket has not taken yet).
 */
export function sendFrame(socket: WebSocket, frame: Buffer, flushed: () => void): void {
  const raw = connectionOf(socket);
  if (!raw || socket.readyState !== socket.OPEN) return flushed();
  corkUntilNextTick(socket);
  raw.write(frame, flushed);
}

/** Consecutive text frames, headers included, in one buffer. */
function textFrames(texts: readonly string[]): Buffer {
  const sizes = texts.map((text) => Buffer.byteLength(text));
  const frames = Buffer.allocUnsafe(sizes.reduce((total, size) => total + frameHeaderBytes(size) + size, 0));
  let at = 0;
  texts.forEach((text, i) => {
    writeTextFrameHeader(frames.subarray(at), sizes[i]);
    at += frameHeaderBytes(sizes[i]);
    at += frames.write(text, at);
  });
  return frames;
}

/**
 * Writes `texts` as consecutive text frames (a graphql-ws `next` and its `complete`, say) in
 * one buffer, as sendFrame does: one chunk for the connection's write, not four (two headers
 * and two strings) gathered into a vectored write per message.
 */
export function sendTexts(socket: WebSocket, texts: readonly string[]): void {
  const raw = connectionOf(socket);
  if (!raw || socket.readyState !== socket.OPEN) return;
  corkUntilNextTick(socket);
  raw.write(textFrames(texts));
}

/**
 * Makes graphql-ws's sends on `socket` leave together. graphql-ws awaits each send's callback
 * before its next send, and ws calls it once the write has flushed, so every frame would be a
 * system call of its own: while the socket keeps up, the callback runs as soon as the frame is
 * queued (writes stay in order) and the socket is corked until the end of the turn. A client
 * that vanished mid-send (EPIPE, ECONNRESET, a destroyed socket) is not reported as an error: graphql-ws would
 * print one with a stack for every operation still running, and the socket closes anyway.
 */
export function coalesceSends(socket: WebSocket): void {
  const send = socket.send.bind(socket) as (data: unknown, options: object, cb?: (err?: Error) => void) => void;
  socket.send = ((data: unknown, options: object | ((err?: Error) => void), cb?: (err?: Error) => void) => {
    const done = typeof options === "function" ? options : cb;
    corkUntilNextTick(socket);
    if (done && socket.bufferedAmount < QUEUED_IS_SENT_BYTES) {
      send(data, typeof options === "function" ? {} : options, ignore);
      // A microtask: graphql-ws's next send comes before the end of the turn uncorks.
      queueMicrotask(() => done());
      return;
    }
    send(data, typeof options === "function" ? {} : options, (err?: Error) =>
      done?.(err && PEER_GONE.has((err as NodeJS.ErrnoException).code ?? "") ? undefined : err),
    );
  }) as WebSocket["send"];
}

const ignore = () => undefined;

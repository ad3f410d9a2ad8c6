import type { Client } from "graphql-ws";
import type { TestServer } from "./test-server";

/** One received frame and when it arrived (ms, performance.now()). */
export interface TimedFrame<T = any> {
  at: number;
  frame: T;
}

/**
 * A subscription's frames as they arrive: `next()` awaits the next unread one, `until()` the
 * first unread one matching a predicate; `ended` resolves on completion or error.
 */
export function watch(server: TestServer, token: string, query: string, variables: Record<string, unknown>, client?: Client) {
  const received: TimedFrame[] = [];
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  let error: unknown;
  let done = false;
  const ws = client ?? server.wsClient(token);
  let unsubscribe = () => undefined as void;
  const ended = new Promise<void>((resolve) => {
    unsubscribe = ws.subscribe(
      { query, variables },
      {
        next: (frame) => {
          received.push({ at: performance.now(), frame });
          wake();
        },
        error: (err) => {
          error = err;
          done = true;
          wake();
          resolve();
        },
        complete: () => {
          done = true;
          wake();
          resolve();
        },
      },
    );
  });
  let read = 0;
  const api = {
    client: ws,
    received,
    ended,
    get error(): any {
      return error;
    },
    /**
     * The error code a refused subscription ended with: graphql-ws reports an error thrown at
     * subscribe as one result with errors, then completes.
     */
    async refusal(): Promise<unknown> {
      await ended;
      const errors = (error as any[] | undefined) ?? received[0]?.frame.errors;
      return errors?.[0]?.extensions?.code;
    },
    async next(): Promise<any> {
      while (read >= received.length) {
        if (done) throw new Error(`stream ended after ${received.length} frames: ${JSON.stringify(error)}`);
        await new Promise<void>((r) => waiters.push(r));
      }
      return received[read++].frame;
    },
    /** Skips frames until one matches `predicate` (frame errors are thrown). */
    async until(predicate: (frame: any) => boolean): Promise<any> {
      for (;;) {
        const frame = await api.next();
        if (frame.errors) throw new Error(JSON.stringify(frame.errors));
        if (predicate(frame)) return frame;
      }
    },
    /** Completes the subscription (the client leaves). */
    close(): void {
      unsubscribe();
    },
  };
  return api;
}

/**
 * A subscription on a socket of its own, to watch that socket end: `ready` once its first
 * frame came, `closed` with the socket's close code (`code` too, once closed).
 */
export function closableWatch(server: TestServer, token: string, query: string, variables: Record<string, unknown>) {
  let code: number | undefined;
  let ready: Promise<unknown> = Promise.resolve();
  const closed = new Promise<number>((resolve) => {
    const client = server.wsClient(token, { on: { closed: (event) => resolve((code = (event as { code: number }).code)) } });
    ready = watch(server, token, query, variables, client).next();
  });
  return {
    ready,
    closed,
    get code() {
      return code;
    },
  };
}

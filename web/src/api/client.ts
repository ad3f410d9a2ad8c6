import { cacheExchange } from "@urql/exchange-graphcache";
import { Client, fetchExchange, type AnyVariables, type OperationResult, type TypedDocumentNode } from "@urql/core";
import { print } from "graphql";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { RefreshAccessTokenDocument } from "../generated/graphql";
import { AuthStore } from "./auth";
import { errorCode } from "./errors";

export const auth = new AuthStore();

/** Types without an id are embedded in their parent in the normalized cache. */
const EMBEDDED = [
  "AuthPayload",
  "BoardConflict",
  "BoardState",
  "BookingConnection",
  "BookingEdge",
  "Cursor",
  "JoinSessionPayload",
  "ApplyBoardEventsPayload",
  "LessonReport",
  "MediaState",
  "PageInfo",
  "ParticipantReport",
  "Permissions",
  "PresenceUpdate",
  "ReplayManifest",
  "SessionConnection",
  "SessionEdge",
  "SystemEvent",
  "TimelineBucket",
  "TimelineConnection",
  "TimelineEdge",
  "TimelineStats",
];

/**
 * urql with graphcache (normalized by id: a session's status changed by startSession shows
 * in every view that read it) over HTTP POST /graphql with the current access token.
 */
export const client = new Client({
  url: "/graphql",
  exchanges: [cacheExchange({ keys: Object.fromEntries(EMBEDDED.map((name) => [name, () => null])) }), fetchExchange],
  fetchOptions: () => {
    const token = auth.token;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    return { headers };
  },
  requestPolicy: "cache-and-network",
  preferGetMethod: false,
});

auth.useRefresher(async (token) => {
  const result = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: print(RefreshAccessTokenDocument) }),
  });
  const body = (await result.json()) as { data?: { refreshAccessToken: import("./auth").Auth }; errors?: unknown[] };
  if (!body.data) throw new Error(`refresh refused: ${JSON.stringify(body.errors)}`);
  return body.data.refreshAccessToken;
});

/**
 * A query or mutation over HTTP, answered once; an UNAUTHENTICATED answer refreshes the token
 * and tries once more (a token that expired while the tab slept).
 */
export async function request<Data, Variables extends AnyVariables>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  options: { network?: boolean } = {},
): Promise<OperationResult<Data, Variables>> {
  const run = () => {
    const isMutation = document.definitions.some((d) => d.kind === "OperationDefinition" && d.operation === "mutation");
    return isMutation
      ? client.mutation(document, variables).toPromise()
      : client.query(document, variables, { requestPolicy: options.network ? "network-only" : "cache-first" }).toPromise();
  };
  let result = await run();
  if (errorCode(result.error) === "UNAUTHENTICATED" && (await auth.refresh())) result = await run();
  return result;
}

/** Connection state of the realtime socket, shown in the lesson view and read by tests. */
export type LinkState = "connecting" | "online" | "offline";
const linkListeners = new Set<(state: LinkState) => void>();
let linkState: LinkState = "connecting";
function setLink(state: LinkState): void {
  if (state === linkState) return;
  linkState = state;
  document.documentElement.dataset.link = state;
  for (const listener of linkListeners) listener(state);
}
export function onLinkChange(listener: (state: LinkState) => void): () => void {
  linkListeners.add(listener);
  listener(linkState);
  return () => linkListeners.delete(listener);
}

/**
 * graphql-ws on /graphql, authenticated with the access token in connectionParams. It never
 * retries by itself (retryAttempts 0): every {@link LiveStream} resubscribes with fresh
 * variables (afterSeq), which a retry of the same payload could not do. A 4401 close
 * (token expired on an open socket) refreshes the token before the streams come back.
 */
export const ws: WsClient = createWsClient({
  url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`,
  lazy: true,
  retryAttempts: 0,
  keepAlive: 10_000,
  // The current token as it is: refreshing here would change the token (and so end, through
  // onChange below, the very socket being opened). A token that expired while the tab slept
  // gets 4401, which refreshes; the scheduled refresh keeps that from happening otherwise.
  connectionParams: () => (auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
  on: {
    connected: () => setLink("online"),
    closed: (event) => {
      setLink(navigator.onLine ? "connecting" : "offline");
      const code = (event as CloseEvent | undefined)?.code;
      if (code) document.documentElement.dataset.lastClose = String(code);
      // 4401: the token expired or was refused on the open socket. A refresh (if the server
      // still takes it) lets the streams come back; a refusal signs out.
      if (code === 4401) void auth.refresh();
    },
  },
});

// The browser knows before the socket does: a dead network ends the socket at once, and the
// streams resume (afterSeq) when it is back, instead of waiting for TCP to notice.
addEventListener("offline", () => {
  setLink("offline");
  ws.terminate();
});
addEventListener("online", () => setLink("connecting"));
// A changed token must reach the server: the socket authenticated with the old one closes.
auth.onChange(() => ws.terminate());

function waitOnline(): Promise<void> {
  if (navigator.onLine) return Promise.resolve();
  return new Promise((resolve) => addEventListener("online", () => resolve(), { once: true }));
}

/** How a stream ended for good: completed by the server, or refused with a GraphQL error. */
export interface StreamEnd {
  code?: string;
  message?: string;
}

/**
 * A subscription that survives dropped connections: when the socket goes, it waits for the
 * network, backs off (0.5 s doubling to 5 s) and subscribes again with `variables()` read
 * anew, so a stream with afterSeq resumes from the last event it handled: no gap, and the
 * consumer drops anything at or below its seq. GraphQL errors (FORBIDDEN when kicked,
 * RESYNC_REQUIRED) and completion end it and are reported to `onEnd`, which may call
 * `restart()` (e.g. after reloading the board for RESYNC_REQUIRED).
 */
export class LiveStream<Data, Variables extends Record<string, unknown>> {
  private dispose: (() => void) | undefined;
  private stopped = false;
  private attempt = 0;
  /** A socket that came up ends the backoff: a quiet stream must not wait 5 s after a token change. */
  private readonly offConnected = ws.on("connected", () => (this.attempt = 0));

  constructor(
    private readonly document: TypedDocumentNode<Data, Variables>,
    private readonly variables: () => NoInfer<Variables>,
    private readonly onData: (data: Data) => void,
    private readonly onEnd: (end: StreamEnd) => void = () => {},
  ) {
    this.subscribe();
  }

  restart(): void {
    this.dispose?.();
    this.stopped = false;
    this.subscribe();
  }

  stop(): void {
    this.stopped = true;
    this.offConnected();
    this.dispose?.();
  }

  private subscribe(): void {
    const query = print(this.document);
    let ended = false;
    this.dispose = ws.subscribe<Data>(
      { query, variables: this.variables() },
      {
        next: (result) => {
          this.attempt = 0;
          if (result.data) this.onData(result.data as Data);
        },
        error: (err) => {
          if (ended || this.stopped) return;
          ended = true;
          if (Array.isArray(err)) {
            const first = err[0] as { message?: string; extensions?: { code?: string } } | undefined;
            this.onEnd({ code: first?.extensions?.code, message: first?.message });
            return;
          }
          void this.retry();
        },
        complete: () => {
          if (ended || this.stopped) return;
          ended = true;
          this.onEnd({});
        },
      },
    );
  }

  private async retry(): Promise<void> {
    const delay = Math.min(500 * 2 ** this.attempt, 5_000);
    this.attempt++;
    await waitOnline();
    await new Promise((resolve) => setTimeout(resolve, this.attempt === 1 ? 0 : delay));
    if (!this.stopped) this.subscribe();
  }
}

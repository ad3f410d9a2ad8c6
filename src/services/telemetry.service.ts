import type { DataSource } from "typeorm";
import { authorizeAccount } from "../auth/account-policy";
import { isUuid } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { invalidInput } from "../domain/errors";
import { TelemetryEventEntity } from "../entities/telemetry-event.entity";
import type { Metrics } from "../infra/metrics";
import { isMalformedText } from "../schema/malformed-text";
import { signedInUser } from "./actor";
import { decodeTimeCursor, encodeCursor, pageSize, type Page } from "./pagination";
import type { TelemetryRow, TelemetryWriter } from "./telemetry-writer";

/** Events in one request at most (W3). */
export const MAX_TELEMETRY_EVENTS = 100;

/** Rows the retention job deletes per statement. */
const RETENTION_BATCH = 5000;

/** The admins' filters of telemetryEvents; every criterion optional, all those given must match. */
export interface TelemetryFilter {
  type?: string | null;
  level?: string | null;
  userId?: string | null;
  /** Received at or after. */
  since?: Date | null;
  /** Received before (exclusive). */
  until?: Date | null;
}

/**
 * The telemetry ingest (W3): checks what a client sent, hands the events to the writer
 * (stored best effort, in batches), reads them back for admins, and deletes them after
 * TELEMETRY_RETENTION_DAYS. Nothing of the client's address is kept.
 */
export class TelemetryService {
  constructor(
    private readonly db: DataSource,
    private readonly writer: TelemetryWriter,
    private readonly metrics: Metrics,
    private readonly limits: { maxJsonDepth: number; maxPageSize: number },
  ) {}

  /**
   * Accepts a request's body: one event object or an array of at most 100. Throws
   * BAD_USER_INPUT (the route's 400) for any other shape, an event deeper than MAX_JSON_DEPTH,
   * or a string or key with a NUL character or an unpaired surrogate (Postgres's jsonb cannot
   * hold them); then the whole request is refused, nothing queued. The sender is the access
   * token's user; any other token (none, invalid, expired, a session token) makes the events
   * anonymous, never an error. Answers how many events were accepted; storing them is best
   * effort (TelemetryWriter).
   */
  accept(auth: AuthContext, body: unknown): number {
    const events = Array.isArray(body) ? body : [body];
    if (events.length > MAX_TELEMETRY_EVENTS) throw invalidInput(`At most ${MAX_TELEMETRY_EVENTS} events per request.`);
    for (const event of events) {
      if (!isPlainObject(event)) throw invalidInput("The body must be an event object or an array of event objects.");
      const problem = eventProblem(event, this.limits.maxJsonDepth);
      if (problem) throw invalidInput(problem);
    }
    const userId = auth.claims?.kind === "access" ? auth.claims.userId : null;
    const receivedAt = new Date().toISOString();
    const rows = (events as Array<Record<string, unknown>>).map((event) => toRow(event, receivedAt, userId));
    this.metrics.telemetryEvents.inc({ outcome: "accepted" }, rows.length);
    this.writer.enqueue(rows);
    return rows.length;
  }

  /** Writes what is queued now; resolves when it is written or dropped (tests, shutdown). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Refuses (drops) later events and writes the queued ones; before the database closes. */
  close(): Promise<void> {
    return this.writer.close();
  }

  /**
   * Stored events, newest first, as a keyset page; admins only (FORBIDDEN otherwise, through
   * ACCOUNT_OPERATIONS.readTelemetry). BAD_USER_INPUT for a page over MAX_PAGE_SIZE, a forged
   * cursor or a userId that is no UUID.
   */
  async list(auth: AuthContext, filter: TelemetryFilter = {}, first?: number | null, after?: string | null): Promise<Page<TelemetryEventEntity>> {
    authorizeAccount(await signedInUser(this.db.manager, auth.requireUserId()), "readTelemetry");
    const limit = pageSize(first, this.limits.maxPageSize);
    const qb = this.db.getRepository(TelemetryEventEntity).createQueryBuilder("t");
    if (filter.type) qb.andWhere("t.type = :type", { type: filter.type });
    if (filter.level) qb.andWhere("t.level = :level", { level: filter.level });
    if (filter.userId) {
      if (!isUuid(filter.userId)) throw invalidInput("userId must be a user's id.", { field: "userId" });
      qb.andWhere("t.user_id = :userId", { userId: filter.userId });
    }
    if (filter.since) qb.andWhere("t.received_at >= :since", { since: filter.since });
    if (filter.until) qb.andWhere("t.received_at < :until", { until: filter.until });
    const totalCount = await qb.clone().getCount();
    const cursor = after ? decodeTimeCursor(after) : undefined;
    // received_at is written at millisecond precision, the cursor's: no row shares a page's
    // last position without being that row or ordered after it by id.
    if (cursor) qb.andWhere("(t.received_at, t.id) < (:at, :id)", { at: new Date(cursor.at), id: cursor.id });
    const rows = await qb
      .orderBy("t.received_at", "DESC")
      .addOrderBy("t.id", "DESC")
      .take(limit + 1)
      .getMany();
    return {
      nodes: rows.slice(0, limit).map((node) => ({ node, cursor: encodeCursor({ at: node.receivedAt.getTime(), id: node.id }) })),
      hasNextPage: rows.length > limit,
      hasPreviousPage: Boolean(cursor),
      totalCount,
    };
  }

  /**
   * Deletes the events received before `cutoff`, in batches of 5000 rows (short statements,
   * no long lock on the table); answers how many. Idempotent: a second run finds nothing more.
   */
  async deleteReceivedBefore(cutoff: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const result = await this.db
        .createQueryBuilder()
        .delete()
        .from(TelemetryEventEntity)
        .where("id IN (SELECT id FROM telemetry_events WHERE received_at < :cutoff ORDER BY received_at LIMIT :batch)", { cutoff, batch: RETENTION_BATCH })
        .execute();
      const affected = result.affected ?? 0;
      deleted += affected;
      if (affected < RETENTION_BATCH) return deleted;
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Why `event` cannot be stored, or undefined: a level past `maxDepth` (Postgres parses jsonb
 * recursively) or malformed text in a string or key. Iterative, so no input overflows the stack.
 */
function eventProblem(event: Record<string, unknown>, maxDepth: number): string | undefined {
  const pending: Array<{ value: unknown; depth: number }> = [{ value: event, depth: 1 }];
  while (pending.length > 0) {
    const { value, depth } = pending.pop()!;
    if (typeof value === "string") {
      if (isMalformedText(value)) return "Event text must not contain NUL characters or unpaired surrogates.";
    } else if (value !== null && typeof value === "object") {
      if (depth > maxDepth) return `An event must be at most ${maxDepth} levels deep.`;
      for (const [key, item] of Object.entries(value)) {
        if (isMalformedText(key)) return "Event keys must not contain NUL characters or unpaired surrogates.";
        pending.push({ value: item, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/** The insert's record for `event`: the columns copied out of it when present, and the event itself. */
function toRow(event: Record<string, unknown>, receivedAt: string, userId: string | null): TelemetryRow {
  const sessionId = text(event.session_id ?? event.sessionId, 36);
  const columns = {
    received_at: receivedAt,
    user_id: userId,
    type: text(event.type ?? event.name, 100),
    level: text(event.level, 32),
    client_timestamp: instant(event.timestamp),
    platform: text(event.platform, 50),
    app_version: text(event.app_version ?? event.appVersion, 50),
    session_id: sessionId && isUuid(sessionId) ? sessionId : null,
  };
  // The event's JSON spliced in as is: stringified once, not once more inside the batch.
  return { json: `${JSON.stringify(columns).slice(0, -1)},"event":${JSON.stringify(event)}}` };
}

/** A non-blank string, trimmed and cut to `max` UTF-16 units (never inside a surrogate pair); else null. */
function text(value: unknown, max: number): string | null {
  if (typeof value !== "string") return null;
  let cut = value.trim().slice(0, max);
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return cut === "" ? null : cut;
}

/** The client's timestamp (ms since the epoch, or an ISO 8601 text) as ISO, when it is a time between 1970 and 9999. */
function instant(value: unknown): string | null {
  const ms = typeof value === "number" ? value : typeof value === "string" && value.length <= 64 ? Date.parse(value) : NaN;
  return Number.isFinite(ms) && ms >= 0 && ms <= 253_402_300_799_999 ? new Date(ms).toISOString() : null;
}

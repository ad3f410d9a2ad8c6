import type { DataSource, EntityManager } from "typeorm";
import { SessionEventEntity } from "../entities/session-event.entity";
import type { SessionEntity } from "../entities/session.entity";
import type { SqlCondition } from "../db/raw-rows";
import type { EventBus } from "../realtime/event-bus";
import { topics, type CommittedEvents } from "../realtime/topics";
import { TRACE } from "../realtime/traced-publish";
import { startPublishSpan, traceparentOf, tracingOn, withSpan } from "../infra/tracing";
import { appendEvents, appendEventsIf, appendPerChange, lockSession, toMessage, type NewSessionEvent, type SessionEventType } from "./timeline";
import { type TimelineMessage } from "../realtime/messages";

/** What a change under the session lock answers: its result and the events it recorded. */
export interface SessionChange<T> {
  result: T;
  events?: NewSessionEvent[];
  /** Runs in the same transaction once the events are stored (seq and time known), e.g. snapshots of the board they produced. */
  afterAppend?: (saved: SessionEventEntity[]) => Promise<void>;
}

/**
 * Told of the events each commit on this instance recorded in a session, in seq order
 * (SessionStore.onCommit); `trace`: the W3C traceparent of their publish span, when traced.
 */
export type CommitListener = (sessionId: string, events: readonly TimelineMessage[], trace?: string) => void;

/** Events for one session that is new in, or locked by, the current transaction. */
export interface SessionAppend {
  session: SessionEntity;
  events: readonly NewSessionEvent[];
}

/**
 * The write path of every session change: one transaction that locks the session row,
 * runs the change, appends its timeline events (gap-free seq, database time), commits, and
 * only then publishes the events to every instance (publish after commit, never before).
 */
export class SessionStore {
  private readonly commitListeners = new Set<CommitListener>();

  constructor(
    readonly db: DataSource,
    private readonly bus: EventBus,
  ) {}

  /**
   * Calls `listener` with the events of each commit made on this instance, before they are
   * published (so before the change answers): what must hold "the moment" a change commits
   * here cannot wait for pub/sub. Answers a function that removes the listener.
   */
  onCommit(listener: CommitListener): () => void {
    this.commitListeners.add(listener);
    return () => void this.commitListeners.delete(listener);
  }

  /** Runs `change` holding the lock of `sessionId` (NOT_FOUND when it does not exist). */
  async change<T>(sessionId: string, change: (tx: EntityManager, session: SessionEntity) => Promise<SessionChange<T>>): Promise<T> {
    const { result, published } = await this.changeRecording(sessionId, change);
    await published;
    return result;
  }

  /**
   * Like `change`, also answering the events it stored, once committed; `published` settles
   * once they are announced too (this instance's listeners have them already). A caller that
   * orders its writes (BoardService) lets the next one start at commit, not after the
   * announcement's round trip, and answers after both.
   */
  async changeRecording<T>(
    sessionId: string,
    change: (tx: EntityManager, session: SessionEntity) => Promise<SessionChange<T>>,
  ): Promise<{ result: T; events: SessionEventEntity[]; published: Promise<void> }> {
    const { result, events } = await this.db.transaction(async (tx) => {
      const session = await lockSession(tx, sessionId);
      const outcome = await change(tx, session);
      const saved = await appendEvents(tx, session, outcome.events ?? []);
      await outcome.afterAppend?.(saved);
      return { result: outcome.result, events: saved };
    });
    return { result, events, published: this.publish(events.map(toMessage)) };
  }

  /**
   * Appends `events` without a transaction when `condition` holds for the session row as its
   * lock is granted (appendEventsIf), then publishes them (`published`, as changeRecording);
   * undefined, with nothing written or published, when it does not: the caller then takes
   * `changeRecording`.
   */
  async appendIf(
    sessionId: string,
    events: readonly NewSessionEvent[],
    boardVersion: number,
    condition: SqlCondition,
  ): Promise<{ saved: SessionEventEntity[]; published: Promise<void> } | undefined> {
    const saved = await appendEventsIf(this.db, sessionId, events, boardVersion, condition);
    return saved && { saved, published: this.publish(saved.map(toMessage)) };
  }

  /**
   * Runs `change` on other rows under the session's lock in one statement, records one `type`
   * event per row it changed (appendPerChange) and publishes them; answers them.
   */
  async changeEach(sessionId: string, type: SessionEventType, change: string, params: readonly unknown[]): Promise<SessionEventEntity[]> {
    const saved = await appendPerChange(this.db, sessionId, type, change, params);
    await this.publish(saved.map(toMessage));
    return saved;
  }

  /**
   * Records one event under the session's lock once `check` (which may throw) has passed,
   * and answers the stored event: the write path of chat and similar actions whose result
   * is the event itself. When `check` answers an event already stored (a client's retry), it
   * is answered as it is: nothing is recorded or announced.
   */
  async record(
    sessionId: string,
    check: (tx: EntityManager, session: SessionEntity) => Promise<NewSessionEvent | SessionEventEntity>,
  ): Promise<SessionEventEntity> {
    const { event, message } = await this.db.transaction(async (tx) => {
      const session = await lockSession(tx, sessionId);
      const checked = await check(tx, session);
      if (checked instanceof SessionEventEntity) return { event: checked, message: undefined };
      const [saved] = await appendEvents(tx, session, [checked]);
      return { event: saved, message: toMessage(saved) };
    });
    if (message) await this.publish([message]);
    return event;
  }

  /**
   * Runs `create` in a transaction; it inserts a new session (nobody else can see it until
   * commit) and answers it with the events to record.
   */
  async create<T>(create: (tx: EntityManager) => Promise<SessionChange<T> & { session: SessionEntity }>): Promise<T> {
    const { result, messages } = await this.db.transaction(async (tx) => {
      const outcome = await create(tx);
      const saved = await appendEvents(tx, outcome.session, outcome.events ?? []);
      return { result: outcome.result, messages: saved.map(toMessage) };
    });
    await this.publish(messages);
    return result;
  }

  /**
   * Runs `work` in one transaction that is not about a single session known up front (a
   * booking being confirmed or cancelled). `work` creates sessions or locks them
   * (lockSession) itself and answers, per session, the events to append; they are appended
   * in the same transaction and published after commit.
   */
  async transaction<T>(work: (tx: EntityManager) => Promise<{ result: T; appends?: SessionAppend[] }>): Promise<T> {
    const { result, messages } = await this.db.transaction(async (tx) => {
      const outcome = await work(tx);
      const messages: TimelineMessage[] = [];
      for (const { session, events } of outcome.appends ?? []) {
        messages.push(...(await appendEvents(tx, session, events)).map(toMessage));
      }
      return { result: outcome.result, messages };
    });
    await this.publish(messages);
    return result;
  }

  /**
   * Announces committed events, one message per session per commit (a 500-op batch is one
   * publish); a lost announcement is recovered by seq from the timeline. This instance's
   * commit listeners have them before it answers (synchronously), and successive calls
   * publish in the order they were made.
   */
  async publish(messages: readonly TimelineMessage[]): Promise<void> {
    const bySession = new Map<string, TimelineMessage[]>();
    for (const message of messages) {
      const events = bySession.get(message.sessionId);
      if (events) events.push(message);
      else bySession.set(message.sessionId, [message]);
    }
    if (tracingOn()) return this.publishTraced(bySession);
    for (const [sessionId, events] of bySession) for (const listener of this.commitListeners) listener(sessionId, events);
    await Promise.all(
      // To the other instances: this one's hubs have them from the listeners above.
      [...bySession].map(([sessionId, events]) => this.bus.announce(topics.sessionTimeline(sessionId), { sessionId, events }).catch(() => undefined)),
    );
  }

  /**
   * `publish` with tracing on: each session's announcement inside a `pubsub.publish timeline`
   * span whose context it carries, to this instance's listeners and to the other instances
   * alike, so that every hub's delivery links to it.
   */
  private async publishTraced(bySession: Map<string, TimelineMessage[]>): Promise<void> {
    const announcements = [...bySession].map(([sessionId, events]) => {
      const span = startPublishSpan("timeline", { "messaging.batch.message_count": events.length });
      const trace = span && traceparentOf(span);
      const announcement: CommittedEvents = trace ? { sessionId, events, [TRACE]: trace } : { sessionId, events };
      return { announcement, span };
    });
    for (const { announcement } of announcements) {
      for (const listener of this.commitListeners) listener(announcement.sessionId, announcement.events, announcement[TRACE]);
    }
    await Promise.all(
      announcements.map(async ({ announcement, span }) => {
        const topic = topics.sessionTimeline(announcement.sessionId);
        await (span ? withSpan(span, () => this.bus.announce(topic, announcement)) : this.bus.announce(topic, announcement)).catch(() => undefined);
        span?.end();
      }),
    );
  }
}

import type { CursorAbuse, CursorBatch, PresenceChange } from "./presence";
import type { SignalMessage, TimelineMessage, TokenRevoked } from "./messages";
import type { Traced } from "./traced-publish";

/**
 * Every pub/sub channel of the API, made by functions so no channel name is spelled twice.
 * A Topic carries the payload type it is published with; the bus adds the Redis prefix.
 */
export interface Topic<T> {
  readonly channel: string;
  /** Type only: never set. */
  readonly __payload?: T;
}

function topic<T>(channel: string): Topic<T> {
  return { channel };
}

/** A heartbeat on a session's timeline channel: its latest seq, so a quiet subscriber notices a lost message. */
export interface LatestSeq {
  sessionId: string;
  latestSeq: number;
}

/**
 * The events one transaction committed to a session's timeline, in seq order: one message per
 * commit, with its publish span's context when traced (each instance's hub links its delivery to it).
 */
export interface CommittedEvents extends Traced {
  sessionId: string;
  events: readonly TimelineMessage[];
}

/** What an in-app notice is about (RULES.md: NOTIFICATION systemEvents). */
export type NoticeKind = "LESSON_STARTING" | "REPORT_READY" | "RECORDING_CONSENT";

/** An in-app notice to whoever follows a session's system events: delivered, never recorded. */
export interface Notice {
  /** Names what it is about (the same notice has the same id however often it is delivered), so a client can drop a repeat. */
  id: string;
  kind: NoticeKind;
  title: string;
  body: string;
  /** What a client needs to act on it (the lesson's scheduled start …). */
  data: Record<string, unknown>;
  at: Date;
  /** The users it is for; everyone following the session when absent. */
  to?: string[];
}

/** A notice announced on a session's timeline channel, so every instance hands it to its local subscribers. */
export interface SessionNotice {
  sessionId: string;
  notice: Notice;
}

/** What a session's timeline channel carries: committed events, latest-seq heartbeats and notices. */
export type TimelineAnnouncement = CommittedEvents | LatestSeq | SessionNotice;

/** A user's own profile changed (any device). */
export interface ProfileChanged {
  userId: string;
  displayName: string;
  updatedAt: Date;
}

export const topics = {
  /** Every user's profile changes: one channel, so an instance listens once for all its myProfile subscribers. */
  profiles: () => topic<ProfileChanged>(`users:profile`),
  /** Every commit of a session's timeline (its events in seq order), heartbeats and in-app notices. */
  sessionTimeline: (sessionId: string) => topic<TimelineAnnouncement>(`session:${sessionId}:timeline`),
  /** JOINED/LEFT of a session's presence (ephemeral, never recorded). */
  presence: (sessionId: string) => topic<PresenceChange>(`session:${sessionId}:presence`),
  /** Accepted cursor moves, one batch per tick per instance; each instance coalesces them into CURSORS frames per tick. */
  cursors: (sessionId: string) => topic<CursorBatch>(`session:${sessionId}:cursors`),
  /** WebRTC signals and media toggles; each subscriber keeps those addressed to it. */
  signals: (sessionId: string) => topic<SignalMessage>(`session:${sessionId}:signals`),
  /** A user abusing the cursor limit: every instance closes that user's sockets with 4429. */
  cursorAbuse: () => topic<CursorAbuse>(`realtime:cursor-abuse`),
  /** logout and changePassword: every instance refuses the tokens and closes their sockets with 4401. */
  tokensRevoked: () => topic<TokenRevoked>(`auth:tokens-revoked`),
};

/** What topicKind answers: the last segment of every channel above. */
const TOPIC_KINDS = new Set(["profile", "timeline", "presence", "cursors", "signals", "cursor-abuse", "tokens-revoked"]);

/**
 * The kind of a channel, prefixed or not (its last segment: "timeline", "signals" …), a label
 * the topics above bound and that never holds the session id in the channel; "other" for a
 * channel not made here.
 */
export function topicKind(channel: string): string {
  const kind = channel.slice(channel.lastIndexOf(":") + 1);
  return TOPIC_KINDS.has(kind) ? kind : "other";
}

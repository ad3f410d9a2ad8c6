import { SessionStatus } from "../entities/session.entity";
import type { FeedStep } from "./session-feed.service";
import { FINAL_STATUSES } from "./session-lifecycle";
import type { TimelineMessage } from "../realtime/messages";

export enum SystemEventKind {
  SESSION_STATUS = "SESSION_STATUS",
  PARTICIPANT_UPDATE = "PARTICIPANT_UPDATE",
  PERMISSION_UPDATE = "PERMISSION_UPDATE",
  KICKED = "KICKED",
  NOTIFICATION = "NOTIFICATION",
  CHAT_MESSAGE = "CHAT_MESSAGE",
}

/** A system event as one subscriber sees it. */
export interface SystemEventView {
  sessionId: string;
  seq: number;
  kind: SystemEventKind;
  status: SessionStatus | null;
  participantId: string | null;
  message: string | null;
  data: Record<string, unknown>;
  at: Date;
}

const PARTICIPANT_TYPES = new Set([
  "PARTICIPANT_JOIN",
  "PARTICIPANT_LEAVE",
  "PARTICIPANT_KICK",
  "PARTICIPANT_RECONNECT",
  "PARTICIPANT_DISCONNECT",
  "MEDIA_AUDIO_ON",
  "MEDIA_AUDIO_OFF",
  "MEDIA_VIDEO_ON",
  "MEDIA_VIDEO_OFF",
  "SCREEN_SHARE_START",
  "SCREEN_SHARE_STOP",
  "HAND_RAISE",
  "HAND_LOWER",
]);

/** The view everybody but a kicked user gets, one object per event so it is executed once for all. */
const commonViews = new WeakMap<TimelineMessage, SystemEventView | null>();

/**
 * The system event a timeline event means to `viewerId`, or undefined when it is not one
 * (board events have their own stream). A kick is KICKED to the kicked user and a
 * participant update to everyone else. Pure, so live delivery and backfill agree; every
 * viewer but the kicked one gets the same object.
 */
export function toSystemEvent(event: TimelineMessage, viewerId: string): SystemEventView | undefined {
  if (event.type === "PARTICIPANT_KICK" && event.data?.userId === viewerId) return buildView(event, viewerId);
  let view = commonViews.get(event);
  if (view === undefined) commonViews.set(event, (view = buildView(event, null) ?? null));
  return view ?? undefined;
}

function buildView(event: TimelineMessage, viewerId: string | null): SystemEventView | undefined {
  const data = event.data ?? {};
  const base = {
    sessionId: event.sessionId,
    seq: event.seq,
    status: null,
    participantId: typeof data.participantId === "string" ? data.participantId : null,
    message: null,
    data: { type: event.type, ...data },
    at: new Date(event.createdAt),
  };
  if (event.type.startsWith("SESSION_")) {
    return { ...base, kind: SystemEventKind.SESSION_STATUS, status: (data.status as SessionStatus) ?? null };
  }
  if (event.type === "PARTICIPANT_KICK" && data.userId === viewerId) {
    return { ...base, kind: SystemEventKind.KICKED, message: (data.reason as string | null) ?? "You were removed from this session." };
  }
  if (PARTICIPANT_TYPES.has(event.type)) return { ...base, kind: SystemEventKind.PARTICIPANT_UPDATE };
  if (event.type === "ROLE_CHANGE" || event.type === "PERMISSION_UPDATE") return { ...base, kind: SystemEventKind.PERMISSION_UPDATE };
  if (event.type === "CHAT_MESSAGE") {
    return { ...base, kind: SystemEventKind.CHAT_MESSAGE, message: typeof data.text === "string" ? data.text : null };
  }
  return undefined;
}

/** How a system event stream goes on after `event`: KICKED ends it FORBIDDEN, a final status ends it. */
export function systemEventStep(event: TimelineMessage, viewerId: string): FeedStep<SystemEventView> {
  const view = toSystemEvent(event, viewerId);
  if (!view) return {};
  if (view.kind === SystemEventKind.KICKED) return { item: view, end: "forbidden" };
  if (view.kind === SystemEventKind.SESSION_STATUS && view.status && FINAL_STATUSES.includes(view.status)) {
    return { item: view, end: "complete" };
  }
  return { item: view };
}

/** Timeline events that take a participant's seat away without a kick. */
const SEAT_ENDS = new Set(["PARTICIPANT_LEAVE", "PARTICIPANT_DISCONNECT"]);

/**
 * How a stream for seated participants only (presence, signals) ends after `event`, if it
 * does: FORBIDDEN on the viewer's kick; completed when the viewer leaves or is disconnected
 * (RULES.md "Participants": no more ICE candidates or cursors for them) and after the
 * session's final status.
 */
export function seatedStreamEnd(event: TimelineMessage, viewerId: string): FeedStep<never>["end"] {
  if (SEAT_ENDS.has(event.type) && event.data?.userId === viewerId) return "complete";
  return systemEventStep(event, viewerId).end;
}

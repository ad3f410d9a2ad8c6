import { SessionStatus } from "../entities/session.entity";
import type { FeedReader, FeedStep, FeedViewer } from "./session-feed.service";
import { FINAL_STATUSES } from "./session-lifecycle";
import type { TimelineMessage } from "../realtime/messages";
import type { Notice } from "../realtime/topics";

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
  /** null for an in-app notice (never recorded). */
  seq: number | null;
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
  "VIDEO_CALL_JOIN",
  "VIDEO_CALL_LEAVE",
  "RECORDING_CONSENT",
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
  if (event.type === "RECORDING_START" || event.type === "RECORDING_STOP") {
    const started = event.type === "RECORDING_START";
    return { ...base, kind: SystemEventKind.NOTIFICATION, message: started ? "The call is being recorded." : "The recording stopped." };
  }
  if (event.type === "CHAT_MESSAGE") {
    return { ...base, kind: SystemEventKind.CHAT_MESSAGE, message: typeof data.text === "string" ? data.text : null };
  }
  return undefined;
}

/**
 * How a system event stream goes on after `event`: KICKED ends it FORBIDDEN, a final status
 * ends it. COMPLETED brings whoever may read the report a notice that it is ready, the last
 * thing their stream delivers (the report is made on demand, so it is ready then).
 */
export function systemEventStep(event: TimelineMessage, viewer: FeedViewer): FeedStep<SystemEventView> {
  const view = toSystemEvent(event, viewer.id);
  if (!view) return {};
  if (view.kind === SystemEventKind.KICKED) return { item: view, end: "forbidden" };
  if (view.kind === SystemEventKind.SESSION_STATUS && view.status && FINAL_STATUSES.includes(view.status)) {
    const notice = view.status === SessionStatus.COMPLETED && viewer.readsReport ? reportReady(event) : undefined;
    return { item: view, notice, end: "complete" };
  }
  return { item: view };
}

/** One view per notice, shared by every subscriber of the instance. */
const noticeViews = new WeakMap<object, SystemEventView>();

/** A notice as a NOTIFICATION system event: `message` is its text, `data` its kind, title and details. */
export function noticeView(notice: Notice, sessionId: string): SystemEventView {
  let view = noticeViews.get(notice);
  if (!view) {
    view = {
      sessionId,
      seq: null,
      kind: SystemEventKind.NOTIFICATION,
      status: null,
      participantId: null,
      message: notice.body,
      data: { type: notice.kind, id: notice.id, title: notice.title, ...notice.data },
      at: new Date(notice.at),
    };
    noticeViews.set(notice, view);
  }
  return view;
}

/** The report-ready notice a completion brings (one per event, like its common view). */
function reportReady(event: TimelineMessage): SystemEventView {
  let view = noticeViews.get(event);
  if (!view) {
    const notice: Notice = {
      id: `${event.sessionId}:report`,
      kind: "REPORT_READY",
      title: "Lesson report ready",
      body: "The report of this lesson is ready.",
      data: { completedSeq: event.seq },
      at: new Date(event.createdAt),
    };
    noticeViews.set(event, (view = noticeView(notice, event.sessionId)));
  }
  return view;
}

/** The systemEvents subscription's reading of a session: its timeline's system events, and notices. */
export const systemEventReader: FeedReader<SystemEventView> = { step: systemEventStep, notice: noticeView };

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
  return systemEventStep(event, { id: viewerId, readsReport: false }).end;
}

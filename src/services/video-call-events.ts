import type { EntityManager } from "typeorm";
import { isUuid } from "../auth/access";
import { entityFromRow, selectColumns } from "../db/raw-rows";
import { ParticipantEntity } from "../entities/participant.entity";
import { connectedTimeSeconds, participantEvent } from "./seats";
import type { SessionStore } from "./session-store";
import type { NewSessionEvent } from "./timeline";

/** A provider's webhook event, as Daily sends them. */
export interface ProviderEvent {
  id: string;
  type: string;
  event_ts?: number;
  payload: Record<string, unknown>;
}

/** What became of an event: recorded, seen before (a redelivery), or not for us. */
export type ProviderEventOutcome = "recorded" | "duplicate" | "ignored";

type ParticipantChange = (participant: ParticipantEntity, now: Date) => NewSessionEvent | undefined;

/** Adds the call interval running since inCallSince to the participant's total (as CONNECTED time is kept). */
function closeCallTime(participant: ParticipantEntity, now: Date): void {
  participant.callSeconds = connectedTimeSeconds(participant.callSeconds, participant.inCallSince, now.getTime());
  participant.inCallSince = null;
}

/** What each handled participant event does to the participant, and the timeline event it records. */
const PARTICIPANT_EVENTS: Record<string, ParticipantChange> = {
  "participant.joined": (p, now) => {
    if (p.inCallSince) return undefined; // a second tab or device: the call goes on
    p.inCallSince = now;
    return participantEvent("VIDEO_CALL_JOIN", p);
  },
  "participant.left": (p, now) => {
    if (!p.inCallSince) return undefined;
    closeCallTime(p, now);
    return participantEvent("VIDEO_CALL_LEAVE", p, { callTimeSeconds: p.callSeconds });
  },
  "screen-share.started": (p) => {
    if (p.screenSharing) return undefined;
    p.screenSharing = true;
    return participantEvent("SCREEN_SHARE_START", p, { source: "video" });
  },
  "screen-share.stopped": (p) => {
    if (!p.screenSharing) return undefined;
    p.screenSharing = false;
    return participantEvent("SCREEN_SHARE_STOP", p, { source: "video" });
  },
};

const SESSION_EVENTS: Record<string, "RECORDING_START" | "RECORDING_STOP"> = {
  "recording.started": "RECORDING_START",
  "recording.stopped": "RECORDING_STOP",
};

/**
 * What the provider tells of a session's call (W7 webhooks), into the timeline and the
 * participants' state: joining and leaving the call (VIDEO_CALL_JOIN/LEAVE, time in the call),
 * screen sharing (SCREEN_SHARE_START/STOP) and recording (RECORDING_START/STOP). Each event id
 * is stored with the events it records, in one transaction under the session's lock, so a
 * redelivery records nothing. Events of unknown types, rooms or users are ignored.
 */
export class VideoCallEvents {
  constructor(private readonly store: SessionStore) {}

  async record(event: ProviderEvent): Promise<ProviderEventOutcome> {
    const participantChange = PARTICIPANT_EVENTS[event.type];
    const sessionType = SESSION_EVENTS[event.type];
    if (!participantChange && !sessionType) return "ignored";
    const room = event.payload.room ?? event.payload.room_name;
    if (typeof room !== "string") return "ignored";
    const [found]: Array<{ session_id: string }> = await this.store.db.query(`SELECT session_id FROM session_video_rooms WHERE name = $1`, [room]);
    if (!found) return "ignored";
    const userId = typeof event.payload.user_id === "string" ? event.payload.user_id : undefined;
    return this.store.change(found.session_id, async (tx, session) => {
      const seen: unknown[] = await tx.query(`INSERT INTO video_webhook_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`, [
        event.id,
        event.type,
      ]);
      if (seen.length === 0) return { result: "duplicate" as const };
      const now = new Date();
      if (sessionType) {
        const recording = typeof event.payload.recording_id === "string" ? { recordingId: event.payload.recording_id } : {};
        return { result: "recorded" as const, events: [{ type: sessionType, data: { provider: "daily", ...recording } }] };
      }
      const participant = userId && (await this.participant(tx, session.id, userId));
      if (!participant) return { result: "ignored" as const };
      const recorded = participantChange(participant, now);
      if (!recorded) return { result: "recorded" as const };
      await tx.query(`UPDATE session_participants SET in_call_since = $2, call_seconds = $3, screen_sharing = $4, updated_at = now() WHERE id = $1`, [
        participant.id,
        participant.inCallSince,
        participant.callSeconds,
        participant.screenSharing,
      ]);
      return { result: "recorded" as const, events: [recorded] };
    });
  }

  private async participant(tx: EntityManager, sessionId: string, userId: string): Promise<ParticipantEntity | undefined> {
    if (!isUuid(userId)) return undefined;
    const [row] = await tx.query(`SELECT ${selectColumns(tx, ParticipantEntity)} FROM session_participants WHERE session_id = $1 AND user_id = $2`, [
      sessionId,
      userId,
    ]);
    return row ? entityFromRow(tx, ParticipantEntity, row) : undefined;
  }
}

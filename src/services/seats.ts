import { In, type EntityManager } from "typeorm";
import { SnapshotType } from "../entities/board-snapshot.entity";
import { ParticipantEntity, ParticipantStatus, SEATED } from "../entities/participant.entity";
import { SessionEntity } from "../entities/session.entity";
import { nextStatus, type SessionAction } from "./session-lifecycle";
import type { BoardCaptures } from "./board-captures.service";
import { dbNow, type NewSessionEvent, type SessionEventType } from "./timeline";

/**
 * Changes to a locked session and its seats inside the caller's transaction, shared by the
 * services that make them (SessionService, SeatService, LifecycleService, ParticipantService,
 * BookingService): a lifecycle transition with its bookkeeping, and a seat given up. Each
 * answers the timeline events it records; the caller appends them.
 */

/** The JOIN, LEAVE and TERMINATE board snapshots (H2) a change takes in its transaction. */
export type SessionChangeRecorder = Pick<BoardCaptures, "onSessionChange">;

/** The timeline event each lifecycle action records (hostJoin records none of its own). */
const statusEvent: Record<SessionAction, SessionEventType | undefined> = {
  hostJoin: undefined,
  start: "SESSION_START",
  pause: "SESSION_PAUSE",
  resume: "SESSION_RESUME",
  complete: "SESSION_END",
  terminate: "SESSION_TERMINATE",
  expire: "SESSION_EXPIRE",
};

/** A participant's timeline event; data carries what subscribers need to find it. */
export function participantEvent(type: SessionEventType, participant: ParticipantEntity, data: Record<string, unknown> = {}): NewSessionEvent {
  return { type, userId: participant.userId, data: { ...data, participantId: participant.id, userId: participant.userId } };
}

/** Adds the CONNECTED interval running since connectedSince to the participant's total. */
export function closeConnectedTime(participant: ParticipantEntity, now: Date): void {
  if (!participant.connectedSince) return;
  participant.connectedSeconds += Math.max(0, Math.floor((now.getTime() - participant.connectedSince.getTime()) / 1000));
  participant.connectedSince = null;
}

/** CONNECTED time of a participant in seconds (RULES.md "Participants"): closed intervals plus the running one. */
export function connectedTimeSeconds(connectedSeconds: number, connectedSince: Date | string | null, now = Date.now()): number {
  // A raw row's timestamp may come as text (PGlite).
  const since = connectedSince === null ? null : new Date(connectedSince);
  const running = since ? Math.floor((now - since.getTime()) / 1000) : 0;
  return connectedSeconds + Math.max(0, running);
}

/** How many seats of the session are taken (JOINING, CONNECTED, RECONNECTING; the host included). */
export async function seatsTaken(tx: EntityManager, sessionId: string): Promise<number> {
  return tx.countBy(ParticipantEntity, { sessionId, status: In([...SEATED]) });
}

/**
 * Leaves a seat: `status` (LEFT, KICKED, DISCONNECTED), connected time closed, screen
 * share and raised hand cleared. Answers the timeline events of what was cleared
 * (SCREEN_SHARE_STOP, HAND_LOWER, with `cause` the new status: RULES.md "Participants"),
 * for the caller to record after the event of the change itself.
 */
export async function vacate(tx: EntityManager, participant: ParticipantEntity, status: ParticipantStatus): Promise<NewSessionEvent[]> {
  const now = await dbNow(tx);
  const cleared: NewSessionEvent[] = [];
  if (participant.screenSharing) cleared.push(participantEvent("SCREEN_SHARE_STOP", participant, { cause: status }));
  if (participant.handRaised) cleared.push(participantEvent("HAND_LOWER", participant, { cause: status }));
  closeConnectedTime(participant, now);
  participant.status = status;
  participant.leftAt = now;
  participant.screenSharing = false;
  participant.handRaised = false;
  await tx.save(ParticipantEntity, participant);
  return cleared;
}

/** Applies `action` to the locked session and answers the events it records. */
export async function applyTransition(
  tx: EntityManager,
  session: SessionEntity,
  action: SessionAction,
  actorId: string | null,
  data: Record<string, unknown>,
  recorder?: SessionChangeRecorder,
): Promise<NewSessionEvent[]> {
  const from = session.status;
  session.status = nextStatus(from, action);
  const now = await dbNow(tx);
  if (action === "start") {
    session.actualStart = now;
    session.activeSince = now;
  } else if (action === "resume") {
    session.activeSince = now;
  } else if (session.activeSince && (action === "pause" || action === "complete" || action === "terminate")) {
    session.activeSeconds += Math.max(0, Math.floor((now.getTime() - session.activeSince.getTime()) / 1000));
    session.activeSince = null;
  }
  if (action === "complete" || action === "terminate") await recorder?.onSessionChange(tx, session, SnapshotType.TERMINATE, actorId);
  if (action === "complete" || action === "terminate" || action === "expire") {
    session.actualEnd = now;
    const seated = await tx.findBy(ParticipantEntity, { sessionId: session.id, status: In([...SEATED]) });
    // Not recorded one by one: the lesson's final status event says it all, and ends every
    // subscription (nothing may follow it on the timeline).
    for (const participant of seated) await vacate(tx, participant, ParticipantStatus.LEFT);
  }
  await tx.save(SessionEntity, session);
  const type = statusEvent[action];
  return type ? [{ type, userId: actorId, data: { ...data, status: session.status, from } }] : [];
}

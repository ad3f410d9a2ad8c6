import { isSeated, ParticipantRole, ParticipantStatus, type ParticipantEntity, type PermissionKey, type Permissions } from "../entities/participant.entity";
import type { SessionEntity } from "../entities/session.entity";
import { DomainError, DomainErrorReason, forbidden, notFound } from "../domain/errors";
import { evaluated } from "./policy-evaluations";

/**
 * Who may do what in a session (RULES.md "Who has access to a session", "Default permissions
 * per role" and "Participants"), decided here and nowhere else. Every decision is a pure
 * function of a SessionAccess, which AccessPolicy (access.ts) reads from the database; a
 * service asks `authorize(access, operation)` and never compares roles itself. Whether the
 * session's state allows the operation is the lifecycle's question (session-lifecycle.ts),
 * asked after this one.
 */

/** Everything that decides what one user may do in one session, loaded once. */
export interface SessionAccess {
  session: SessionEntity;
  actorId: string;
  isAdmin: boolean;
  isHost: boolean;
  /** Tutor or member of the session's classroom. */
  inClassroom: boolean;
  participant?: ParticipantEntity;
  kicked: boolean;
  /** Effective permissions: the participant's role defaults overlaid with its grants. */
  permissions: Permissions;
}

/** Who an operation is for, beyond being able to reach the session at all. */
export type Who =
  /** Anyone with access (admins included). */
  | { kind: "reader" }
  /** The host only (not admins: they read everything but run nobody's lesson). */
  | { kind: "host" }
  /** The host, or a participant holding the permission. */
  | { kind: "hostOr"; permission: PermissionKey }
  /** A participant (the host included) holding the permission. */
  | { kind: "participantWith"; permission: PermissionKey };

const reader: Who = { kind: "reader" };
const host: Who = { kind: "host" };
const hostOr = (permission: PermissionKey): Who => ({ kind: "hostOr", permission });
const participantWith = (permission: PermissionKey): Who => ({ kind: "participantWith", permission });

/**
 * RULES.md's table "Who has access to a session", one row per operation, with the words its
 * FORBIDDEN message uses. Board ops need the permission BOARD_OPS.md names per op, decided by
 * the engine through `holds`; every board write and participant action also needs a seat
 * (`requireSeated`), asked after the session's state.
 */
export const SESSION_OPERATIONS = {
  read: { who: reader, what: "read the session" },
  join: { who: reader, what: "join the session" },
  start: { who: host, what: "start the session" },
  complete: { who: host, what: "complete the session" },
  update: { who: host, what: "change the session" },
  delete: { who: host, what: "delete the session" },
  pause: { who: hostOr("canPause"), what: "pause the session" },
  resume: { who: hostOr("canPause"), what: "resume the session" },
  terminate: { who: hostOr("canTerminate"), what: "terminate the session" },
  kick: { who: hostOr("canKick"), what: "remove participants" },
  changeRole: { who: hostOr("canKick"), what: "change roles" },
  changePermissions: { who: hostOr("canKick"), what: "change permissions" },
  saveBoard: { who: participantWith("canDraw"), what: "save the board" },
  restoreSnapshot: { who: hostOr("canClearBoard"), what: "restore a snapshot" },
  seeAccessCode: { who: hostOr("canInvite"), what: "see the access code" },
  importBoard: { who: hostOr("canClearBoard"), what: "import a board" },
  storeSoloSnapshot: { who: host, what: "store snapshots of this workspace" },
  writeBoard: { who: reader, what: "change the board" },
  chat: { who: reader, what: "chat" },
  raiseHand: { who: reader, what: "raise a hand" },
  setMedia: { who: reader, what: "change media" },
  moveCursor: { who: reader, what: "move a cursor" },
  sendSignal: { who: reader, what: "send signals" },
  watchSeated: { who: reader, what: "watch signals and presence" },
  record: { who: host, what: "record the call" },
  consentToRecording: { who: reader, what: "answer a recording request" },
} satisfies Record<string, { who: Who; what: string }>;

export type SessionOperation = keyof typeof SESSION_OPERATIONS;

/*
 * Each exported decision is counted once (policy_evaluations_total, policy-evaluations.ts);
 * they decide with the uncounted functions below (reads, hasPermission, allows …), so a
 * decision built on another is still one evaluation.
 */

/** Whether the session is visible at all: admins always; KICKED overrides everything else. */
export function canRead(access: SessionAccess): boolean {
  return evaluated(reads(access));
}

function reads(access: SessionAccess): boolean {
  if (access.isAdmin) return true;
  if (access.kicked) return false;
  return access.isHost || access.participant !== undefined || access.inClassroom;
}

/**
 * The access if it lets the user reach the session: NOT_FOUND without access (existence never
 * leaks), FORBIDDEN for a kicked user (they know it exists).
 */
export function requireReach(access: SessionAccess | undefined): SessionAccess {
  const refusal = !access ? notFound("Session") : access.kicked && !access.isAdmin ? kickedError() : !reads(access) ? notFound("Session") : undefined;
  if (!evaluated(refusal === undefined)) throw refusal;
  return access as SessionAccess;
}

/** What a kicked user is answered, wherever they try (FORBIDDEN). */
export function kickedError(): DomainError {
  return forbidden("You were removed from this session.");
}

/** FORBIDDEN for a participant kicked from the session, whatever else they are to it (joining again included). */
export function requireNotKicked(participant: Pick<ParticipantEntity, "status"> | null | undefined): void {
  if (!evaluated(participant?.status !== ParticipantStatus.KICKED)) throw kickedError();
}

/** Whether the user holds `permission` as a participant (the host included). */
export function holds(access: SessionAccess, permission: PermissionKey): boolean {
  return evaluated(hasPermission(access, permission));
}

function hasPermission(access: SessionAccess, permission: PermissionKey): boolean {
  return access.permissions[permission] && (access.participant !== undefined || access.isHost);
}

/** Whether `access` may run `operation` (the session being reachable is assumed: requireReach). */
export function may(access: SessionAccess, operation: SessionOperation): boolean {
  return evaluated(allows(access, operation));
}

function allows(access: SessionAccess, operation: SessionOperation): boolean {
  const who: Who = SESSION_OPERATIONS[operation].who;
  switch (who.kind) {
    case "reader":
      return reads(access);
    case "host":
      return access.isHost;
    case "hostOr":
      return access.isHost || (access.participant !== undefined && access.permissions[who.permission]);
    case "participantWith":
      return hasPermission(access, who.permission);
  }
}

/** FORBIDDEN unless `access` may run `operation`. */
export function authorize(access: SessionAccess, operation: SessionOperation): void {
  if (evaluated(allows(access, operation))) return;
  const { who, what }: { who: Who; what: string } = SESSION_OPERATIONS[operation];
  if (who.kind === "host") throw forbidden(`Only the host can ${what}.`);
  if (who.kind === "reader") throw notFound("Session");
  throw forbidden(`You need the ${who.permission} permission to ${what}.`);
}

/** Turning a medium on (audio, video, screen): FORBIDDEN without its permission (a VIEWER has none). */
export function requireMediaPermission(access: SessionAccess, permission: PermissionKey): void {
  if (!evaluated(hasPermission(access, permission))) throw forbidden(`You need the ${permission} permission to turn this on.`);
}

/**
 * A seat (RULES.md "Participants": JOINING, CONNECTED or RECONNECTING), which participant
 * actions and board writes need; INVALID_STATE otherwise. Answers the seated participant.
 */
export function requireSeated(access: SessionAccess): ParticipantEntity {
  const participant = access.participant;
  if (!isSeated(participant)) {
    throw new DomainError(DomainErrorReason.INVALID_STATE, "Join the session first.", { status: access.participant?.status ?? null });
  }
  return participant;
}

/**
 * Replay (H3): everyone who may read a recorded session; with isRecorded false, the host
 * (and admins) only.
 */
export function canReplay(access: SessionAccess): boolean {
  return evaluated(replays(access));
}

function replays(access: SessionAccess): boolean {
  return access.isAdmin || access.isHost || (access.session.isRecorded && reads(access));
}

/** FORBIDDEN unless canReplay. */
export function requireReplay(access: SessionAccess): void {
  if (!evaluated(replays(access))) throw forbidden("This session is not recorded: only its host can replay it.");
}

/**
 * Export downloads: the host, admins, and readers holding canExport (every role's default;
 * a participant's grants can take it away).
 */
export function mayExport(access: SessionAccess): boolean {
  return evaluated(exportable(access));
}

function exportable(access: SessionAccess): boolean {
  return access.isAdmin || access.isHost || (reads(access) && access.permissions.canExport);
}

/** FORBIDDEN unless mayExport. */
export function requireExport(access: SessionAccess): void {
  if (!evaluated(exportable(access))) throw forbidden("You need the canExport permission to export this board.");
}

/** The lesson report: its host (a host is never kicked) and admins. */
export function mayReport(actor: { id: string; isAdmin: boolean }, session: Pick<SessionEntity, "hostId">): boolean {
  return evaluated(reports(actor, session));
}

function reports(actor: { id: string; isAdmin: boolean }, session: Pick<SessionEntity, "hostId">): boolean {
  return session.hostId === actor.id || actor.isAdmin;
}

/** Whether the session's report is the viewer's to read (mayReport), from their access. */
export function readsReport(access: SessionAccess): boolean {
  return mayReport({ id: access.actorId, isAdmin: access.isAdmin }, access.session);
}

/** What a participant's meeting token grants at the video provider (W7): owner rights to the host, screen sharing as canShareScreen allows. */
export function videoRights(access: SessionAccess): { owner: boolean; screenShare: boolean } {
  return { owner: access.isHost, screenShare: evaluated(hasPermission(access, "canShareScreen")) };
}

/** FORBIDDEN unless mayReport. */
export function requireReport(actor: { id: string; isAdmin: boolean }, session: Pick<SessionEntity, "hostId">): void {
  if (!evaluated(reports(actor, session))) throw forbidden("Only the host can read the lesson report.");
}

/** What a board op the actor lacks the permission for answers (the engine asks `holds` per op, BOARD_OPS.md). */
export function boardOpForbidden(permission: string, clientOpId: string | null | undefined): DomainError {
  return forbidden(`You need the ${permission} permission for ${clientOpId ?? "this operation"}.`);
}

/**
 * What may be done to another participant (`target`) once the actor may kick, change roles or
 * change permissions at all: the host is never removed and keeps their permissions; neither a
 * host's nor a solo owner's role changes (FORBIDDEN).
 */
export function authorizeOnTarget(
  operation: "kick" | "changeRole" | "changePermissions",
  target: ParticipantEntity,
  session: Pick<SessionEntity, "hostId">,
): void {
  const isHost = target.role === ParticipantRole.HOST || target.userId === session.hostId;
  const refusal =
    operation === "kick" && isHost
      ? forbidden("The host cannot be removed.")
      : operation === "changePermissions" && target.role === ParticipantRole.HOST
        ? forbidden("The host's permissions cannot be changed.")
        : operation === "changeRole" && (target.role === ParticipantRole.HOST || target.role === ParticipantRole.SOLO)
          ? forbidden(`The ${target.role.toLowerCase()}'s role cannot be changed.`)
          : undefined;
  if (!evaluated(refusal === undefined)) throw refusal;
}

/**
 * The session policy (src/auth/session-policy.ts) held to RULES.md's tables, every actor ×
 * participant status × operation. The tables are transcribed below as RULES.md words them
 * ("Default permissions per role", "Who has access to a session", "Participants"); the
 * expected answer of each combination is computed from the transcription, not from the
 * policy's own table, so a row changed on one side only fails here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  authorize,
  mayReport,
  requireReach,
  requireSeated,
  SESSION_OPERATIONS,
  type SessionAccess,
  type SessionOperation,
} from "../../src/auth/session-policy";
import { DomainError } from "../../src/domain/errors";
import {
  ParticipantEntity,
  ParticipantRole,
  ParticipantStatus,
  PERMISSION_KEYS,
  type PermissionKey,
  type Permissions,
} from "../../src/entities/participant.entity";
import { SessionEntity } from "../../src/entities/session.entity";
import { effectivePermissions } from "../../src/auth/permissions";

// RULES.md "Default permissions per role".
const yes = (keys: PermissionKey[]): Permissions => Object.fromEntries(PERMISSION_KEYS.map((k) => [k, keys.includes(k)])) as Permissions;
const drawing: PermissionKey[] = ["canDraw", "canErase", "canAddLayers", "canUploadImages"];
const boardAdmin: PermissionKey[] = ["canDeleteLayers", "canReorderLayers", "canClearBoard"];
const media: PermissionKey[] = ["canToggleVideo", "canToggleAudio", "canShareScreen"];
const hosting: PermissionKey[] = ["canInvite", "canKick", "canTerminate", "canPause"];
const DEFAULTS: Record<ParticipantRole, Permissions> = {
  [ParticipantRole.HOST]: yes([...drawing, ...boardAdmin, "canExport", ...media, ...hosting]),
  [ParticipantRole.STUDENT]: yes([...drawing, "canExport", ...media]),
  [ParticipantRole.VIEWER]: yes(["canExport"]),
  [ParticipantRole.SOLO]: yes([...drawing, ...boardAdmin, "canExport", ...media]),
};

/** What an actor is to the session, before their participant status. */
interface Actor {
  name: string;
  isAdmin?: boolean;
  isHost?: boolean;
  inClassroom?: boolean;
  /** Their participant row's role, if they have one. */
  role?: ParticipantRole;
  grants?: Partial<Permissions>;
}

const ACTORS: Actor[] = [
  { name: "host", isHost: true, role: ParticipantRole.HOST },
  { name: "host without a participant row", isHost: true },
  { name: "student", role: ParticipantRole.STUDENT },
  { name: "student granted canKick and canPause", role: ParticipantRole.STUDENT, grants: { canKick: true, canPause: true } },
  { name: "student granted canClearBoard, without canDraw", role: ParticipantRole.STUDENT, grants: { canClearBoard: true, canDraw: false } },
  { name: "viewer", role: ParticipantRole.VIEWER },
  { name: "viewer granted canTerminate and canInvite", role: ParticipantRole.VIEWER, grants: { canTerminate: true, canInvite: true } },
  { name: "classroom member", inClassroom: true },
  { name: "classroom member who is also a student", inClassroom: true, role: ParticipantRole.STUDENT },
  { name: "admin", isAdmin: true },
  { name: "outsider" },
];

const STATUSES = Object.values(ParticipantStatus);
const SEATED_STATUSES = [ParticipantStatus.JOINING, ParticipantStatus.CONNECTED, ParticipantStatus.RECONNECTING];

type Outcome = "allowed" | "FORBIDDEN" | "NOT_FOUND" | "INVALID_STATE";

/** RULES.md "Who has access to a session": who each operation is for, over the transcribed defaults. */
function expected(actor: Actor, status: ParticipantStatus | undefined, operation: SessionOperation): Outcome {
  const participant = actor.role !== undefined;
  const kicked = status === ParticipantStatus.KICKED;
  // Access: the host, participants (any status but KICKED), the classroom; KICKED overrides; admins read everything.
  if (!actor.isAdmin && kicked) return "FORBIDDEN";
  if (!actor.isAdmin && !actor.isHost && !participant && !actor.inClassroom) return "NOT_FOUND";
  const role = actor.role ?? (actor.isHost ? ParticipantRole.HOST : ParticipantRole.VIEWER);
  const permission = (key: PermissionKey) => (actor.grants?.[key] ?? DEFAULTS[role][key]) === true;
  const asParticipant = (key: PermissionKey) => (participant || actor.isHost === true) && permission(key);
  const hostOr = (key: PermissionKey) => actor.isHost === true || (participant && permission(key));
  const table: Record<SessionOperation, boolean> = {
    read: true,
    join: true,
    start: !!actor.isHost,
    complete: !!actor.isHost,
    update: !!actor.isHost,
    delete: !!actor.isHost,
    pause: hostOr("canPause"),
    resume: hostOr("canPause"),
    terminate: hostOr("canTerminate"),
    kick: hostOr("canKick"),
    changeRole: hostOr("canKick"),
    changePermissions: hostOr("canKick"),
    saveBoard: asParticipant("canDraw"),
    restoreSnapshot: hostOr("canClearBoard"),
    importBoard: hostOr("canClearBoard"),
    seeAccessCode: hostOr("canInvite"),
    storeSoloSnapshot: !!actor.isHost,
    writeBoard: true,
    chat: true,
    raiseHand: true,
    setMedia: true,
    moveCursor: true,
    sendSignal: true,
    watchSeated: true,
    record: !!actor.isHost,
    consentToRecording: true,
  };
  if (!table[operation]) return "FORBIDDEN";
  // RULES.md "Participants": board writes and participant actions need a seat.
  if (SEATED_OPERATIONS.has(operation) && !(participant && status !== undefined && SEATED_STATUSES.includes(status))) return "INVALID_STATE";
  return "allowed";
}

const SEATED_OPERATIONS = new Set<SessionOperation>([
  "saveBoard",
  "restoreSnapshot",
  "importBoard",
  "writeBoard",
  "chat",
  "raiseHand",
  "setMedia",
  "moveCursor",
  "sendSignal",
  "watchSeated",
  "consentToRecording",
]);

function accessOf(actor: Actor, status: ParticipantStatus | undefined): SessionAccess {
  const session = Object.assign(new SessionEntity(), { id: "s", hostId: actor.isHost ? "me" : "someone else", isRecorded: true });
  const participant =
    actor.role === undefined
      ? undefined
      : Object.assign(new ParticipantEntity(), { sessionId: "s", userId: "me", role: actor.role, status, permissionGrants: actor.grants ?? {} });
  const role = actor.role ?? (actor.isHost ? ParticipantRole.HOST : ParticipantRole.VIEWER);
  return {
    session,
    actorId: "me",
    isAdmin: actor.isAdmin === true,
    isHost: actor.isHost === true,
    inClassroom: actor.inClassroom === true,
    participant,
    kicked: status === ParticipantStatus.KICKED,
    permissions: effectivePermissions(DEFAULTS[role], actor.grants ?? {}),
  };
}

/** What the services do, in their order: reach the session, the operation's who, then the seat where RULES.md asks for one. */
function outcome(access: SessionAccess, operation: SessionOperation): Outcome {
  try {
    authorize(requireReach(access), operation);
    if (SEATED_OPERATIONS.has(operation)) requireSeated(access);
    return "allowed";
  } catch (err) {
    assert.ok(err instanceof DomainError, `a DomainError, not ${String(err)}`);
    return err.reason as Outcome;
  }
}

describe("session policy against RULES.md", () => {
  const operations = Object.keys(SESSION_OPERATIONS) as SessionOperation[];

  it("covers every operation RULES.md's table names", () => {
    const named = [
      "read",
      "join",
      "report",
      "start",
      "complete",
      "update",
      "delete",
      "pause",
      "resume",
      "terminate",
      "kick",
      "changeRole",
      "changePermissions",
      "saveBoard",
      "restoreSnapshot",
      "importBoard",
      "chat",
      "raiseHand",
      "moveCursor",
      "sendSignal",
    ];
    assert.deepEqual(
      named.filter((op) => op !== "report" && !operations.includes(op as SessionOperation)),
      [],
    );
  });

  for (const actor of ACTORS) {
    it(`answers the ${actor.name} as RULES.md does, in every participant status and for every operation`, () => {
      const statuses = actor.role === undefined ? [undefined] : STATUSES;
      const wrong: string[] = [];
      for (const status of statuses) {
        for (const operation of operations) {
          const want = expected(actor, status, operation);
          const got = outcome(accessOf(actor, status), operation);
          if (got !== want) wrong.push(`${status ?? "no participant row"} × ${operation}: ${got}, RULES.md says ${want}`);
        }
      }
      assert.deepEqual(wrong, []);
    });
  }

  it("lets the host and admins read the report, nobody else (RULES.md: report, host and admins)", () => {
    const session = { hostId: "host" };
    assert.equal(mayReport({ id: "host", isAdmin: false }, session), true);
    assert.equal(mayReport({ id: "admin", isAdmin: true }, session), true);
    assert.equal(mayReport({ id: "student", isAdmin: false }, session), false);
  });
});

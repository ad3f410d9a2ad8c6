import type { EntityManager } from "typeorm";
import { recordConnectionQuality } from "./connection-history";
import { isUuid, type AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { cleanGrants, effectivePermissions } from "../auth/permissions";
import { ParticipantEntity, ParticipantRole, ParticipantStatus, PERMISSION_KEYS, type Permissions } from "../entities/participant.entity";
import { SessionEventEntity } from "../entities/session-event.entity";
import { entityFromRow, selectColumns } from "../db/raw-rows";
import type { SessionEntity } from "../entities/session.entity";
import { DomainError, DomainErrorReason, invalidInput } from "../domain/errors";
import { allowedIn, requireStatus } from "./session-lifecycle";
import type { SessionStore } from "./session-store";
import { participantEvent, vacate } from "./seats";
import { GroupByKey } from "../infra/group-by-key";
import { queryPrepared } from "../db/prepared";
import type { NewSessionEvent, SessionEventType } from "./timeline";
import { authorize, authorizeOnTarget, requireMediaPermission, requireSeated } from "../auth/session-policy";

export interface MediaStateInput {
  audioEnabled?: boolean | null;
  videoEnabled?: boolean | null;
  screenSharing?: boolean | null;
  connectionQuality?: string | null;
}

/** Media flags, the permission that turning each on needs, and its timeline events. */
const MEDIA = [
  { field: "audioEnabled", permission: "canToggleAudio", on: "MEDIA_AUDIO_ON", off: "MEDIA_AUDIO_OFF" },
  { field: "videoEnabled", permission: "canToggleVideo", on: "MEDIA_VIDEO_ON", off: "MEDIA_VIDEO_OFF" },
  { field: "screenSharing", permission: "canShareScreen", on: "SCREEN_SHARE_START", off: "SCREEN_SHARE_STOP" },
] as const satisfies ReadonlyArray<{
  field: keyof MediaStateInput;
  permission: keyof Permissions;
  on: SessionEventType;
  off: SessionEventType;
}>;

/**
 * What participants do and what is done to them: media state, kicks, roles and grants.
 * Every change runs under the session lock (SessionStore), so "only one screen sharer" and
 * the grants are decided one request at a time.
 */
export class ParticipantService {
  /** Participants coming back to a session, recorded together (connectionChanged). */
  private readonly reconnects = new GroupByKey<string>(async (sessionId, userIds) => {
    await this.store.changeEach(sessionId, "PARTICIPANT_RECONNECT", RECONNECT, [userIds]);
  });

  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
  ) {}

  /**
   * The user's own media state. Turning a medium on needs its permission; one screen sharer
   * per session (CONFLICT for the second); the participant must be in the session
   * (JOINING, CONNECTED or RECONNECTING), else INVALID_STATE.
   */
  async updateMedia(auth: AuthContext, sessionId: string, input: MediaStateInput): Promise<ParticipantEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    if (input.connectionQuality && input.connectionQuality.length > 32) {
      throw invalidInput("connectionQuality must be at most 32 characters.", { field: "connectionQuality" });
    }
    return this.store.change(sessionId, async (tx, session) => {
      const access = await this.access.require(actorId, sessionId, tx, session);
      requireStatus(session.status, allowedIn.chat, "change media");
      const participant = requireSeated(access);
      const events: NewSessionEvent[] = [];
      for (const medium of MEDIA) {
        const wanted = input[medium.field];
        if (wanted === undefined || wanted === null || wanted === participant[medium.field]) continue;
        if (wanted) requireMediaPermission(access, medium.permission);
        if (medium.field === "screenSharing" && wanted) await this.requireNoOtherSharer(tx, session, participant);
        participant[medium.field] = wanted;
        events.push(participantEvent(wanted ? medium.on : medium.off, participant));
      }
      if (input.connectionQuality !== undefined && input.connectionQuality !== participant.connectionQuality) {
        await recordConnectionQuality(tx, sessionId, actorId, input.connectionQuality);
        participant.connectionQuality = input.connectionQuality;
      }
      await tx.save(ParticipantEntity, participant);
      return { result: participant, events };
    });
  }

  /** Host or canKick removes a participant: KICKED overrides every other access to the session. */
  async kick(auth: AuthContext, sessionId: string, userId: string, reason?: string | null): Promise<ParticipantEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    return this.store.change(sessionId, async (tx, session) => {
      const access = await this.access.require(actorId, sessionId, tx, session);
      authorize(access, "kick");
      const target = await this.target(tx, session, userId);
      authorizeOnTarget("kick", target, session);
      if (target.status === ParticipantStatus.KICKED) return { result: target };
      const cleared = await vacate(tx, target, ParticipantStatus.KICKED);
      const data = { reason: reason?.slice(0, 500) ?? null, by: actorId };
      return { result: target, events: [participantEvent("PARTICIPANT_KICK", target, data), ...cleared] };
    });
  }

  /**
   * Host or canKick sets grants over a participant's role defaults: true or false sets a
   * grant, null removes it (back to the role default), omitted leaves it.
   */
  async updatePermissions(
    auth: AuthContext,
    sessionId: string,
    userId: string,
    input: Partial<Record<keyof Permissions, boolean | null>>,
  ): Promise<ParticipantEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    return this.store.change(sessionId, async (tx, session) => {
      const access = await this.access.require(actorId, sessionId, tx, session);
      authorize(access, "changePermissions");
      const target = await this.target(tx, session, userId);
      authorizeOnTarget("changePermissions", target, session);
      const grants: Partial<Permissions> = { ...target.permissionGrants, ...cleanGrants(input) };
      for (const key of PERMISSION_KEYS) if (input[key] === null) delete grants[key];
      target.permissionGrants = grants;
      const dropped = await this.dropMediaNoLongerAllowed(tx, target, "PERMISSION_UPDATE");
      await tx.save(ParticipantEntity, target);
      return { result: target, events: [participantEvent("PERMISSION_UPDATE", target, { grants }), ...dropped] };
    });
  }

  /** Host or canKick makes a participant a STUDENT or a VIEWER. */
  async changeRole(auth: AuthContext, sessionId: string, userId: string, role: ParticipantRole): Promise<ParticipantEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    if (role !== ParticipantRole.STUDENT && role !== ParticipantRole.VIEWER) {
      throw invalidInput("A participant's role can become STUDENT or VIEWER.", { field: "role" });
    }
    return this.store.change(sessionId, async (tx, session) => {
      const access = await this.access.require(actorId, sessionId, tx, session);
      authorize(access, "changeRole");
      const target = await this.target(tx, session, userId);
      authorizeOnTarget("changeRole", target, session);
      if (target.role === role) return { result: target };
      const from = target.role;
      target.role = role;
      const dropped = await this.dropMediaNoLongerAllowed(tx, target, "ROLE_CHANGE");
      await tx.save(ParticipantEntity, target);
      return { result: target, events: [participantEvent("ROLE_CHANGE", target, { from, to: role }), ...dropped] };
    });
  }

  /**
   * A chat message from a participant (VIEWER included), in WAITING, ACTIVE or PAUSED:
   * recorded as CHAT_MESSAGE and delivered as a systemEvent; 1 to 2000 characters. With a
   * `clientMessageId` (1 to 64 characters, kept in the event's data), the same id from the same
   * user in the same session answers the message stored first and records nothing (a client's
   * retry); the session lock orders retries, a unique index backs it.
   */
  async sendChat(auth: AuthContext, sessionId: string, text: string, clientMessageId?: string | null): Promise<SessionEventEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    const message = text.trim();
    if (message.length < 1 || message.length > 2000) {
      throw invalidInput("A chat message must be 1 to 2000 characters.", { field: "text" });
    }
    if (clientMessageId != null && (clientMessageId.length < 1 || clientMessageId.length > 64)) {
      throw invalidInput("clientMessageId must be 1 to 64 characters.", { field: "clientMessageId" });
    }
    return this.store.record(sessionId, async (tx, session) => {
      const access = await this.access.require(actorId, sessionId, tx, session);
      const sent = clientMessageId == null ? undefined : await sentChat(tx, sessionId, actorId, clientMessageId);
      if (sent) return sent;
      requireStatus(session.status, allowedIn.chat, "chat");
      const data = clientMessageId == null ? { text: message } : { text: message, clientMessageId };
      return participantEvent("CHAT_MESSAGE", requireSeated(access), data);
    });
  }

  /** Raises or lowers the participant's hand (VIEWER included), recorded as HAND_RAISE/HAND_LOWER. */
  async raiseHand(auth: AuthContext, sessionId: string, raised: boolean): Promise<ParticipantEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    return this.store.change(sessionId, async (tx, session) => {
      const access = await this.access.require(actorId, sessionId, tx, session);
      requireStatus(session.status, allowedIn.chat, "raise a hand");
      const participant = requireSeated(access);
      if (participant.handRaised === raised) return { result: participant };
      participant.handRaised = raised;
      await tx.save(ParticipantEntity, participant);
      return { result: participant, events: [participantEvent(raised ? "HAND_RAISE" : "HAND_LOWER", participant)] };
    });
  }

  /**
   * The user's realtime presence in the session came (first connection on any instance) or
   * went (last one closed or expired): JOINING/RECONNECTING → CONNECTED (a reconnect counted
   * and recorded when coming back), CONNECTED → RECONNECTING (connected time closed).
   * DISCONNECTED follows after RECONNECT_GRACE_MS (disconnectInactive).
   */
  async connectionChanged(sessionId: string, userId: string, online: boolean): Promise<void> {
    // The common transitions record nothing on the timeline, so they take one conditional
    // UPDATE and no session lock: a lecture hall connecting at once is not serialized on the
    // session row. The row's own lock orders them against a kick or a leave, which check the
    // status they find. Coming back from RECONNECTING is recorded: the session's comebacks
    // on this instance are committed together, one statement under the session lock each.
    const [{ changed }] = await queryPrepared<{ changed: number }>(this.store.db, online ? CONNECT : LOSE_CONNECTION, [sessionId, userId]);
    if (!online || changed > 0) return;
    await this.reconnects.add(sessionId, userId);
  }

  /**
   * Participants RECONNECTING for longer than `graceMs` become DISCONNECTED (seat freed,
   * screen share and raised hand cleared, PARTICIPANT_DISCONNECT recorded). Idempotent:
   * each is re-checked under its session's lock.
   */
  async disconnectInactive(graceMs: number): Promise<number> {
    const stale: Array<{ session_id: string; user_id: string }> = await this.store.db.query(
      `SELECT session_id, user_id FROM session_participants
        WHERE status = 'RECONNECTING' AND updated_at < now() - ($1 || ' milliseconds')::interval`,
      [String(graceMs)],
    );
    let disconnected = 0;
    for (const { session_id: sessionId, user_id: userId } of stale) {
      const done = await this.store.change(sessionId, async (tx) => {
        const participant = await tx.findOneBy(ParticipantEntity, { sessionId, userId });
        if (participant?.status !== ParticipantStatus.RECONNECTING) return { result: false };
        const cleared = await vacate(tx, participant, ParticipantStatus.DISCONNECTED);
        return { result: true, events: [participantEvent("PARTICIPANT_DISCONNECT", participant), ...cleared] };
      });
      if (done) disconnected++;
    }
    return disconnected;
  }

  /** The participant `userId` of the locked session; BAD_USER_INPUT when they are not in it. */
  private async target(tx: EntityManager, session: SessionEntity, userId: string): Promise<ParticipantEntity> {
    // An id that is not a UUID names no one (and Postgres would refuse the cast).
    const target = isUuid(userId) ? await tx.findOneBy(ParticipantEntity, { sessionId: session.id, userId }) : null;
    if (!target) throw invalidInput("That user is not a participant of this session.", { field: "userId" });
    return target;
  }

  private async requireNoOtherSharer(tx: EntityManager, session: SessionEntity, participant: ParticipantEntity): Promise<void> {
    const sharer = await tx.findOneBy(ParticipantEntity, { sessionId: session.id, screenSharing: true });
    if (sharer && sharer.id !== participant.id) {
      throw new DomainError(DomainErrorReason.CONFLICT, "Someone else is sharing their screen.", { sharingUserId: sharer.userId });
    }
  }

  /**
   * After a role or grant change (`cause`), media the participant may no longer use is turned
   * off; answers the MEDIA_*_OFF / SCREEN_SHARE_STOP events of those that were on (RULES.md
   * "Participants").
   */
  private async dropMediaNoLongerAllowed(tx: EntityManager, participant: ParticipantEntity, cause: SessionEventType): Promise<NewSessionEvent[]> {
    const permissions = effectivePermissions(await this.access.defaultsFor(participant.role, tx), participant.permissionGrants);
    const dropped: NewSessionEvent[] = [];
    for (const medium of MEDIA) {
      if (permissions[medium.permission] || !participant[medium.field]) continue;
      participant[medium.field] = false;
      dropped.push(participantEvent(medium.off, participant, { cause }));
    }
    return dropped;
  }
}

/** JOINING → CONNECTED (RULES.md "Participants"): the connected time starts on the database clock. */
const CONNECT = `WITH changed AS (
    UPDATE session_participants SET status = 'CONNECTED', connected_since = clock_timestamp(), updated_at = now()
     WHERE session_id = $1 AND user_id = $2 AND status = 'JOINING'
    RETURNING id)
  SELECT count(*)::int AS changed FROM changed`;

/**
 * RECONNECTING → CONNECTED, a reconnect counted, for the users $3 of the session locked by
 * SessionStore.changeEach (the event's data as participantEvent makes it).
 */
const RECONNECT = `UPDATE session_participants p
     SET status = 'CONNECTED', connected_since = clock_timestamp(), reconnect_count = p.reconnect_count + 1, updated_at = now()
    FROM locked
   WHERE p.session_id = locked.id AND p.user_id = ANY($3::uuid[]) AND p.status = 'RECONNECTING'
  RETURNING p.user_id, jsonb_build_object('participantId', p.id, 'userId', p.user_id) AS data`;

/** CONNECTED → RECONNECTING: the connected interval is added to the total (whole seconds, as closeConnectedTime). */
const LOSE_CONNECTION = `WITH changed AS (
    UPDATE session_participants
       SET status = 'RECONNECTING',
           connected_seconds = connected_seconds
             + CASE WHEN connected_since IS NULL THEN 0 ELSE GREATEST(0, floor(extract(epoch FROM clock_timestamp() - connected_since)))::int END,
           connected_since = NULL, updated_at = now()
     WHERE session_id = $1 AND user_id = $2 AND status = 'CONNECTED'
    RETURNING id)
  SELECT count(*)::int AS changed FROM changed`;

/** The user's chat message stored under `clientMessageId` in the session, if any. */
async function sentChat(tx: EntityManager, sessionId: string, userId: string, clientMessageId: string): Promise<SessionEventEntity | undefined> {
  const rows = (await tx.query(
    `SELECT ${selectColumns(tx, SessionEventEntity)} FROM session_events
      WHERE session_id = $1 AND user_id = $2 AND type = 'CHAT_MESSAGE' AND data ? 'clientMessageId' AND data ->> 'clientMessageId' = $3`,
    [sessionId, userId, clientMessageId],
  )) as Array<Record<string, unknown>>;
  return rows[0] && entityFromRow(tx, SessionEventEntity, rows[0]);
}

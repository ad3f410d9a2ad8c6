import { In, type EntityManager } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { requireNotKicked } from "../auth/session-policy";
import type { SignedToken, TokenService } from "../auth/tokens";
import type { Config } from "../config";
import { DomainError, DomainErrorReason, rateLimited } from "../domain/errors";
import { SnapshotType } from "../entities/board-snapshot.entity";
import { isSeated, ParticipantEntity, ParticipantRole, ParticipantStatus } from "../entities/participant.entity";
import { SessionEntity, SessionStatus, SessionType } from "../entities/session.entity";
import type { RateLimiter } from "../infra/rate-limiter";
import { signedInUser } from "./actor";
import { applyTransition, participantEvent, seatsTaken, vacate, type SessionChangeRecorder } from "./seats";
import { allowedIn, requireStatus } from "./session-lifecycle";
import type { SessionStore } from "./session-store";
import { dbNow, type NewSessionEvent } from "./timeline";

export interface JoinResult {
  session: SessionEntity;
  participant: ParticipantEntity;
  token: SignedToken;
}

/** What joining is configured with (src/config.ts): HARDENING.md's limit on wrong access codes. */
export type SeatLimits = Pick<Config["rateLimits"], "wrongAccessCodesPerUserPerMinute">;

const MINUTE = 60_000;

/**
 * Seats (RULES.md "Participants"): joining by id or by access code, and leaving. A seat is
 * taken under the session's lock, so maxParticipants holds however many join at once.
 */
export class SeatService {
  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    private readonly tokens: TokenService,
    private readonly limiter: RateLimiter,
    private readonly limits: SeatLimits,
    /** JOIN and LEAVE snapshots of the board (H2), taken in the change's transaction. */
    private readonly recorder?: SessionChangeRecorder,
  ) {}

  /**
   * Joins a session the user has access to (again while joined: a fresh session token). A
   * seat is needed (CONFLICT SESSION_FULL when none is free); the host joining a SCHEDULED
   * session opens it (WAITING).
   */
  async join(auth: AuthContext, id: string): Promise<JoinResult> {
    const actor = await signedInUser(this.store.db.manager, auth.requireUserIdFor(id));
    const { session, participant } = await this.store.change(id, async (tx, locked) => {
      await this.access.require(actor.id, id, tx, locked);
      return this.seat(tx, locked, actor.id);
    });
    return { session, participant, token: this.tokens.signSession(actor, session.id) };
  }

  /** Joins with an access code; past WRONG_CODE_RATE_PER_USER (10) wrong codes a minute, RATE_LIMITED. */
  async joinByCode(auth: AuthContext, code: string): Promise<JoinResult> {
    const actor = await signedInUser(this.store.db.manager, auth.requireUserId());
    // Over the limit, even a right code is refused: otherwise guessing would go on.
    const wrongCodes = `wrong-code:${actor.id}`;
    const allowed = await this.limiter.peek(wrongCodes, this.limits.wrongAccessCodesPerUserPerMinute, MINUTE);
    if (!allowed.allowed) throw rateLimited(allowed.retryAfterMs);
    const normalized = code.trim().toUpperCase();
    const found = /^[A-Z0-9]{4,16}$/.test(normalized)
      ? await this.store.db.getRepository(SessionEntity).findOneBy({ accessCode: normalized, status: In([...allowedIn.join]) })
      : null;
    if (!found) {
      const limit = await this.limiter.hit(wrongCodes, this.limits.wrongAccessCodesPerUserPerMinute, MINUTE);
      if (!limit.allowed) throw rateLimited(limit.retryAfterMs);
      throw new DomainError(DomainErrorReason.NOT_FOUND, "No session has this access code.");
    }
    const { session, participant } = await this.store.change(found.id, async (tx, locked) => {
      const access = await this.access.load(actor.id, found.id, tx, locked);
      requireNotKicked(access?.participant);
      return this.seat(tx, locked, actor.id);
    });
    return { session, participant, token: this.tokens.signSession(actor, session.id) };
  }

  /**
   * The user leaves their seat: LEFT, seat freed, screen share and hand cleared. Not seated
   * (never joined, left already, disconnected): INVALID_STATE, nothing recorded.
   */
  async leave(auth: AuthContext, id: string): Promise<ParticipantEntity> {
    const actorId = auth.requireUserIdFor(id);
    return this.store.change(id, async (tx, session) => {
      const access = await this.access.require(actorId, id, tx, session);
      const participant = access.participant;
      if (!isSeated(participant)) {
        throw new DomainError(DomainErrorReason.INVALID_STATE, "You are not in this session.", { status: access.participant?.status ?? null });
      }
      const cleared = await vacate(tx, participant, ParticipantStatus.LEFT);
      await this.recorder?.onSessionChange(tx, session, SnapshotType.LEAVE, actorId);
      return { result: participant, events: [participantEvent("PARTICIPANT_LEAVE", participant, { status: participant.status }), ...cleared] };
    });
  }

  /** Gives the user a seat under the session lock (the caller holds it). */
  private async seat(tx: EntityManager, session: SessionEntity, userId: string) {
    requireStatus(session.status, allowedIn.join, "join");
    const events: NewSessionEvent[] = [];
    const isHost = session.hostId === userId;
    if (isHost && session.status === SessionStatus.SCHEDULED) {
      events.push(...(await applyTransition(tx, session, "hostJoin", userId, {}, this.recorder)));
    }
    let participant = await tx.findOneBy(ParticipantEntity, { sessionId: session.id, userId });
    requireNotKicked(participant);
    if (!isSeated(participant)) {
      if ((await seatsTaken(tx, session.id)) >= session.maxParticipants) {
        throw new DomainError(DomainErrorReason.SESSION_FULL, "The session is full.", { maxParticipants: session.maxParticipants });
      }
      participant ??= tx.create(ParticipantEntity, {
        sessionId: session.id,
        userId,
        role: isHost ? ParticipantRole.HOST : session.type === SessionType.SOLO ? ParticipantRole.SOLO : ParticipantRole.STUDENT,
        status: ParticipantStatus.INVITED,
        joinCount: 0,
      });
      participant.status = ParticipantStatus.JOINING;
      participant.joinCount += 1;
      participant.joinedAt = await dbNow(tx);
      participant.leftAt = null;
      participant = await tx.save(ParticipantEntity, participant);
      events.push(participantEvent("PARTICIPANT_JOIN", participant, { role: participant.role, status: participant.status }));
      await this.recorder?.onSessionChange(tx, session, SnapshotType.JOIN, userId);
    }
    return { result: { session, participant }, events };
  }
}

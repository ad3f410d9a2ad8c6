import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { authorize, requireSeated, videoRights } from "../auth/session-policy";
import { DomainError, DomainErrorReason } from "../domain/errors";
import { ParticipantEntity, SEATED } from "../entities/participant.entity";
import { SessionStatus, SessionType } from "../entities/session.entity";
import type { VideoProvider } from "../infra/video-provider";
import { participantEvent } from "./seats";
import type { SessionFeed } from "./session-feed.service";
import type { SessionStore } from "./session-store";
import { providerUnavailable, roomName, type VideoRooms, type VideoRoomsOptions } from "./video-rooms.service";

const invalidState = (message: string, details?: Record<string, unknown>) => new DomainError(DomainErrorReason.INVALID_STATE, message, details);

/**
 * A participant's part in the provider's call (W7): their meeting token, made from their
 * current role and permissions (so a change shows in the next one), and recording the call
 * with consent (README "Recording consent"): only a session with isRecorded can be recorded
 * at all, only through startRecording (the call's own record button is never shown), and only
 * once every seated participant but the host consented. Until then startRecording asks those
 * who have not answered (a RECORDING_CONSENT notice to them alone) and tells the host who has
 * not answered and who declined; each answer is recorded on the timeline (RECORDING_CONSENT).
 */
export class VideoCallService {
  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    private readonly provider: VideoProvider,
    private readonly rooms: VideoRooms,
    private readonly feed: Pick<SessionFeed, "notify">,
    private readonly options: VideoRoomsOptions,
  ) {}

  /**
   * A meeting token for the viewer, a seated participant (INVALID_STATE otherwise), with the
   * host's owner rights and the screen sharing their permissions allow; null with p2p.
   */
  async token(auth: AuthContext, sessionId: string): Promise<string | null> {
    if (!this.rooms.enabled) return null;
    const viewerId = auth.requireUserIdFor(sessionId);
    const access = await this.access.require(viewerId, sessionId);
    if (access.session.type === SessionType.SOLO) return null;
    requireSeated(access);
    const row = await this.rooms.ensure(sessionId, true);
    if (row?.state !== "READY") throw invalidState("This session is over: its video room is gone.");
    const [user]: Array<{ display_name: string }> = await this.store.db.query(`SELECT display_name FROM users WHERE id = $1`, [viewerId]);
    const spec = {
      roomName: row.name,
      userId: viewerId,
      userName: user?.display_name ?? "Participant",
      ...videoRights(access),
      expiresAt: new Date(Math.min(new Date(row.expires_at).getTime(), Date.now() + this.options.sessionMaxDurationMs)),
    };
    return this.call(() => this.provider.meetingToken(spec), "ask for a meeting token again in a moment.");
  }

  /** The viewer's answer to recording the call: a seat needed; a changed answer is recorded. */
  async setRecordingConsent(auth: AuthContext, sessionId: string, consent: boolean): Promise<ParticipantEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    return this.store.change(sessionId, async (tx, session) => {
      const access = await this.access.require(actorId, sessionId, tx, session);
      authorize(access, "consentToRecording");
      this.requireRecordable(session.isRecorded);
      const participant = requireSeated(access);
      if (participant.recordingConsent === consent) return { result: participant };
      participant.recordingConsent = consent;
      await tx.save(ParticipantEntity, participant);
      return { result: participant, events: [participantEvent("RECORDING_CONSENT", participant, { consent })] };
    });
  }

  /**
   * Starts recording the call (the host, in an ACTIVE recorded session). INVALID_STATE, with
   * `awaitingConsent` and `declined` (user ids), while a seated participant has not consented:
   * those who have not answered are asked again.
   */
  async startRecording(auth: AuthContext, sessionId: string): Promise<boolean> {
    const actorId = auth.requireUserIdFor(sessionId);
    const access = await this.access.require(actorId, sessionId);
    authorize(access, "record");
    const { session } = access;
    this.requireRecordable(session.isRecorded);
    if (session.status !== SessionStatus.ACTIVE) throw invalidState(`Only an ACTIVE session can be recorded; this one is ${session.status}.`);
    const answers: Array<{ user_id: string; recording_consent: boolean | null }> = await this.store.db.query(
      `SELECT user_id, recording_consent FROM session_participants WHERE session_id = $1 AND status = ANY($2) AND user_id <> $3 ORDER BY user_id`,
      [sessionId, SEATED, session.hostId],
    );
    const awaitingConsent = answers.filter((a) => a.recording_consent === null).map((a) => a.user_id);
    const declined = answers.filter((a) => a.recording_consent === false).map((a) => a.user_id);
    if (awaitingConsent.length > 0 || declined.length > 0) {
      if (awaitingConsent.length > 0) {
        const at = new Date();
        await this.feed.notify(sessionId, {
          id: `${sessionId}:recording-consent@${at.getTime()}`,
          kind: "RECORDING_CONSENT",
          title: "May this lesson be recorded?",
          body: "The host would like to record the call. Answer with setRecordingConsent.",
          data: { requestedBy: actorId },
          at,
          to: awaitingConsent,
        });
      }
      throw invalidState(`Recording needs every participant's consent: ${awaitingConsent.length} not answered yet (asked now), ${declined.length} declined.`, {
        awaitingConsent,
        declined,
      });
    }
    await this.rooms.ensure(sessionId, true);
    await this.call(() => this.provider.startRecording(roomName(sessionId)), "try starting the recording again in a moment.");
    return true;
  }

  private requireRecordable(isRecorded: boolean): void {
    if (!this.rooms.enabled) throw invalidState("No video provider records calls here (VIDEO_PROVIDER=p2p).");
    if (!isRecorded) throw invalidState("This session is not recorded (isRecorded is false): its call is never recorded.");
  }

  /** A request to the provider on a client's behalf: its failure is UNAVAILABLE, saying `what` to do. */
  private async call<T>(request: () => Promise<T>, what: string): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw providerUnavailable(what, err, this.options.retryBaseMs || 1000);
    }
  }
}

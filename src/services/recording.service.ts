import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { authorize, requireSeated } from "../auth/session-policy";
import { DomainError, DomainErrorReason } from "../domain/errors";
import { ParticipantEntity, SEATED } from "../entities/participant.entity";
import { SessionStatus } from "../entities/session.entity";
import type { VideoProvider } from "../infra/video-provider";
import { participantEvent } from "./seats";
import type { SessionFeed } from "./session-feed.service";
import type { SessionStore } from "./session-store";
import { roomName, type VideoRooms } from "./video-rooms.service";

const invalidState = (message: string, details?: Record<string, unknown>) => new DomainError(DomainErrorReason.INVALID_STATE, message, details);

/**
 * Recording the call through the provider, with consent (W7; README "Recording consent"):
 * only a session with isRecorded and a provider that hosts rooms can be recorded at all, only
 * through startRecording (the call's own record button is never shown), and only once every
 * seated participant but the host consented. Until then startRecording asks those who have
 * not answered (a RECORDING_CONSENT notice) and tells the host who has not answered and who
 * declined; each answer is recorded on the timeline (RECORDING_CONSENT).
 */
export class RecordingService {
  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    private readonly provider: VideoProvider,
    private readonly rooms: VideoRooms,
    private readonly feed: Pick<SessionFeed, "notify">,
  ) {}

  /** The viewer's answer to recording the call: a seat needed; a changed answer is recorded. */
  async setConsent(auth: AuthContext, sessionId: string, consent: boolean): Promise<ParticipantEntity> {
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
  async start(auth: AuthContext, sessionId: string): Promise<boolean> {
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
    await this.rooms.call(() => this.provider.startRecording(roomName(sessionId)), "try starting the recording again in a moment.");
    return true;
  }

  private requireRecordable(isRecorded: boolean): void {
    if (!this.rooms.enabled) throw invalidState("No video provider records calls here (VIDEO_PROVIDER=p2p).");
    if (!isRecorded) throw invalidState("This session is not recorded (isRecorded is false): its call is never recorded.");
  }
}

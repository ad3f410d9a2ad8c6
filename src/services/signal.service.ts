import type { DataSource } from "typeorm";
import { countSignal } from "./connection-history";
import { isUuid, type AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { ParticipantEntity } from "../entities/participant.entity";
import { queuedStream, type LiveStream, type OpenLiveStream, type SubscriberBuffer } from "../realtime/live-stream";
import type { EventBus } from "../realtime/event-bus";
import { topics } from "../realtime/topics";
import { SignalType, type SignalMessage } from "../realtime/messages";
import { DomainError, DomainErrorReason, invalidInput, resyncRequired } from "../domain/errors";
import type { MediaStateInput, ParticipantService } from "./participant.service";
import { kickedError, requireSeated } from "../auth/session-policy";
import { allowedIn, requireStatus } from "./session-lifecycle";
import type { SessionConnections } from "./connections";
import type { SessionFeed } from "./session-feed.service";
import type { TimelineListener } from "./timeline-hub";
import { isSeated } from "../entities/participant.entity";
import { seatedStreamEnd } from "./system-events";
import type { Metrics } from "../infra/metrics";

/** What signaling is configured with (src/config.ts). */
export interface SignalLimits {
  /** MAX_SIGNAL_PAYLOAD_BYTES: a signal's payload as JSON text (HARDENING.md, 64 KiB); PAYLOAD_TOO_LARGE beyond. */
  maxPayloadBytes: number;
  /** SUBSCRIBER_BUFFER_FRAMES/BYTES of a signals stream. */
  subscriberBuffer: SubscriberBuffer;
}

/**
 * Media toggles and the media state they set. They go through ParticipantService.updateMedia,
 * which checks the permission to turn a medium on (a VIEWER has none of them, so a VIEWER
 * cannot publish media) and the one-screen-sharer rule, and records the timeline event.
 */
const MEDIA_TOGGLES: Partial<Record<SignalType, MediaStateInput>> = {
  [SignalType.MUTE_AUDIO]: { audioEnabled: false },
  [SignalType.UNMUTE_AUDIO]: { audioEnabled: true },
  [SignalType.MUTE_VIDEO]: { videoEnabled: false },
  [SignalType.UNMUTE_VIDEO]: { videoEnabled: true },
  [SignalType.SCREEN_SHARE_START]: { screenSharing: true },
  [SignalType.SCREEN_SHARE_STOP]: { screenSharing: false },
};

/** Signals, like board writes and cursors, only while the session is ACTIVE (RULES.md). */
const SIGNAL_STATUSES = allowedIn.board;

/**
 * WebRTC signaling (R2): a relay between the participants of a session. Signals are not
 * recorded (only the media state changes of toggles are); pub/sub carries them to every
 * instance, and each subscriber keeps those addressed to it or to everyone.
 */
export class SignalService {
  /** sessionId → signals subscriptions on this instance (webrtc_sessions_active). */
  private readonly watched = new Map<string, number>();

  constructor(
    private readonly db: DataSource,
    private readonly access: AccessPolicy,
    private readonly participants: ParticipantService,
    private readonly bus: EventBus,
    private readonly feed: SessionFeed,
    private readonly connections: SessionConnections,
    private readonly limits: SignalLimits,
    private readonly metrics?: Pick<Metrics, "signalsOf">,
  ) {}

  /** Sessions with at least one signals subscriber on this instance: its WebRTC peers. */
  get activeSessions(): number {
    return this.watched.size;
  }

  /**
   * Relays a signal from a seated participant of an ACTIVE session to `toUserId` (a seated
   * participant, else BAD_USER_INPUT) or to every other participant. Media toggles update
   * the sender's media state first, so a refused toggle (FORBIDDEN, CONFLICT) is not relayed.
   */
  async send(auth: AuthContext, sessionId: string, input: { type: SignalType; toUserId?: string | null; payload: unknown }): Promise<boolean> {
    const actorId = auth.requireUserIdFor(sessionId);
    const bytes = Buffer.byteLength(JSON.stringify(input.payload ?? null));
    const maxBytes = this.limits.maxPayloadBytes;
    if (bytes > maxBytes) {
      throw new DomainError(DomainErrorReason.PAYLOAD_TOO_LARGE, `A signal's payload may be at most ${maxBytes} bytes.`, { maxBytes });
    }
    const access = await this.access.require(actorId, sessionId);
    requireStatus(access.session.status, SIGNAL_STATUSES, "send signals");
    requireSeated(access);
    const toUserId = input.toUserId || null;
    if (toUserId !== null) await this.requireTarget(sessionId, actorId, toUserId);
    const media = MEDIA_TOGGLES[input.type];
    if (media) await this.participants.updateMedia(auth, sessionId, media);
    await this.bus.publish(topics.signals(sessionId), {
      sessionId,
      type: input.type,
      fromUserId: actorId,
      toUserId,
      payload: input.payload,
      sentAt: new Date(),
    });
    this.metrics?.signalsOf.get(input.type).inc();
    // Counted for the lesson report once relayed (issue 18); the signal itself is never stored.
    await countSignal(this.db, sessionId, input.type);
    return true;
  }

  /**
   * The signals addressed to a seated participant or to everyone (never their own). NOT_FOUND
   * without access, FORBIDDEN for a kicked user (and the stream ends FORBIDDEN on a kick),
   * INVALID_STATE when not seated; completes when the viewer leaves or is disconnected (no
   * one else's ICE candidates for them) and after the session's final status.
   */
  async watch(auth: AuthContext, sessionId: string, open: OpenLiveStream = queuedStream): Promise<LiveStream<SignalMessage>> {
    const viewerId = auth.requireUserIdFor(sessionId);
    const access = await this.access.require(viewerId, sessionId);
    requireSeated(access);
    const cleanup: Array<() => void> = [];
    const out = open<SignalMessage>({
      scope: sessionId,
      onClose: () => cleanup.splice(0).forEach((stop) => stop()),
      overflow: () => resyncRequired(),
      buffer: this.limits.subscriberBuffer,
    });
    try {
      this.watched.set(sessionId, (this.watched.get(sessionId) ?? 0) + 1);
      cleanup.push(() => {
        const left = (this.watched.get(sessionId) ?? 1) - 1;
        if (left > 0) this.watched.set(sessionId, left);
        else this.watched.delete(sessionId);
      });
      const signals = await this.bus.subscribe(topics.signals(sessionId));
      cleanup.push(() => void signals.return?.());
      void (async () => {
        for await (const signal of signals) {
          if (signal.fromUserId === viewerId) continue;
          if (signal.toUserId === null || signal.toUserId === viewerId) out.push(signal);
        }
      })().catch((err) => out.fail(err));
      // A kick ends the stream FORBIDDEN; leaving, a disconnect or the session's final status
      // completes it.
      const timeline: TimelineListener = {
        handled: 0,
        early: null,
        take: (event) => {
          const end = seatedStreamEnd(event, viewerId);
          if (end === "forbidden") out.fail(kickedError());
          else if (end === "complete") out.end();
        },
        fail: (err) => out.fail(err),
      };
      // From the seq the seat was checked at (the session row is read before the seat), so a
      // leave committed since is not missed.
      cleanup.push(await this.feed.attach(sessionId, timeline, access.session.lastSeq));
      const connection = await this.connections.hold(sessionId, viewerId);
      cleanup.push(() => connection.release());
    } catch (err) {
      await out.return?.();
      throw err;
    }
    if (out.closed) cleanup.splice(0).forEach((stop) => stop());
    return out;
  }

  /** BAD_USER_INPUT unless `toUserId` is another participant holding a seat in the session. */
  private async requireTarget(sessionId: string, actorId: string, toUserId: string): Promise<void> {
    const target = isUuid(toUserId) ? await this.db.manager.findOneBy(ParticipantEntity, { sessionId, userId: toUserId }) : null;
    if (!isSeated(target) || toUserId === actorId) {
      throw invalidInput("The signal's recipient is not another participant of this session.", { field: "toUserId" });
    }
  }
}

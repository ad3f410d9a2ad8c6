import type { AccessPolicy } from "../auth/access";
import type { Metrics } from "../infra/metrics";
import type { BoardService } from "./board.service";
import type { BoardExportService } from "./board-export.service";
import type { BookingService } from "./booking.service";
import type { ClassroomService } from "./classroom.service";
import type { HistoryService } from "./history.service";
import type { ReportService } from "./report.service";
import type { ParticipantService } from "./participant.service";
import type { PresenceService } from "./presence.service";
import type { LessonNotices } from "./lesson-notices";
import type { VideoCallEvents } from "./video-call-events";
import type { VideoCallService } from "./video-call.service";
import type { VideoRooms } from "./video-rooms.service";
import type { PushNotifier } from "./push-notifier";
import type { PushService } from "./push.service";
import type { ReplayService } from "./replay.service";
import type { SignalService } from "./signal.service";
import type { SessionService } from "./session.service";
import type { SeatService } from "./seat.service";
import type { LifecycleService } from "./lifecycle.service";
import type { SessionBatches } from "./session-batches.service";
import type { SessionFeed } from "./session-feed.service";
import type { SnapshotService } from "./snapshot.service";
import type { SyncService } from "./sync.service";
import type { BoardCaptures } from "./board-captures.service";
import type { TelemetryService } from "./telemetry.service";
import type { TeachingStatsService } from "./teaching-stats.service";
import type { LessonExportService } from "./lesson-export.service";
import type { PersonalExportService } from "./personal-export.service";
import type { UserService } from "./user.service";
import type { AccountService } from "./account.service";

/** Every domain service, built once per instance by the composition root (src/app.ts). */
export interface Services {
  access: AccessPolicy;
  users: UserService;
  /** deleteAccount: erasure across users, seats and tokens (issue 18). */
  accounts: AccountService;
  sessions: SessionService;
  seats: SeatService;
  lifecycle: LifecycleService;
  /** The batch reads behind the request's DataLoaders. */
  sessionBatches: SessionBatches;
  classrooms: ClassroomService;
  bookings: BookingService;
  participants: ParticipantService;
  feed: SessionFeed;
  presence: PresenceService;
  signals: SignalService;
  board: BoardService;
  history: HistoryService;
  reports: ReportService;
  /** Teaching statistics over a tutor's hosted lessons (issue 18). */
  teachingStats: TeachingStatsService;
  snapshots: SnapshotService;
  /** The snapshots nobody asks for: session-change captures, autosave, retention. */
  captures: BoardCaptures;
  replay: ReplayService;
  /** Offline sync (W4): pulls after a device checkpoint, offline board ops pushed. */
  sync: SyncService;
  boardExport: BoardExportService;
  /** Lesson timeline and report downloads for report readers (issue 18). */
  lessonExport: LessonExportService;
  /** A user's own data, GET /export/me (issue 18). */
  personalExport: PersonalExportService;
  /** The telemetry ingest (W3): checked events queued for batched, best-effort writes; admins read them. */
  telemetry: TelemetryService;
  /** Web push subscriptions (W5), their owners' side. */
  push: PushService;
  /** Web push delivery through the outbox, and its retries. */
  pushNotifier: PushNotifier;
  /** What people are told when, in-app and by push: kicks, completed lessons' reports, lessons starting soon. */
  lessonNotices: LessonNotices;
  /** The session's room and meeting tokens at the video provider (W7). */
  videoRooms: VideoRooms;
  /** Meeting tokens, and recording the call with everyone's consent (W7). */
  videoCall: VideoCallService;
  /** What the video provider's webhooks tell, into the timeline (W7). */
  videoCalls: VideoCallEvents;
  /** The instance's Prometheus counters (GET /metrics). */
  metrics: Metrics;
}

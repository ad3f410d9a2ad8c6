import DataLoader from "dataloader";
import type { AuthContext } from "../auth/auth-context";
import type { BoardState } from "../board";
import type { BookingEntity } from "../entities/booking.entity";
import type { ClassroomEntity } from "../entities/classroom.entity";
import type { ParticipantEntity } from "../entities/participant.entity";
import type { SessionEntity } from "../entities/session.entity";
import type { UserEntity } from "../entities/user.entity";
import type { OpenLiveStream } from "../realtime/live-stream";
import type { Services } from "../services";
import type { EventCounts, SummaryResult, TimelinePage, TimelineRequest } from "../services/history.service";
import type { VideoRoomView } from "../services/video-rooms.service";

/** Per-request batching: one set per HTTP request or WebSocket operation. */
export interface Loaders {
  /** Users as the User type shows them (a loaded row may leave out what it never shows: the password hash). */
  userById: DataLoader<string, UserEntity | undefined>;
  /** Whether the viewer may see the user's email (AccessPolicy.emailVisibleIds). */
  emailVisible: DataLoader<EmailQuestion, boolean, string>;
  participantsBySession: DataLoader<string, ParticipantEntity[]>;
  participantById: DataLoader<string, ParticipantEntity | undefined>;
  /** Classrooms the viewer may read (tutor, member, admin); undefined for any other. */
  classroomById: DataLoader<string, ClassroomEntity | undefined>;
  membersByClassroom: DataLoader<string, UserEntity[]>;
  /** Bookings the viewer may read (tutor, student, admin); undefined for any other. */
  bookingById: DataLoader<string, BookingEntity | undefined>;
  /** Sessions the viewer may read; undefined for any other. */
  sessionById: DataLoader<string, SessionEntity | undefined>;
  /** Timeline pages of several sessions (a list of sessions each with its timeline), batched. */
  timelinePage: DataLoader<TimelineRequest, TimelinePage, string>;
  /** Timeline event counts by session (timelineStats), read access checked per batch. */
  eventCountsBySession: DataLoader<string, EventCounts>;
  /** Session summaries, read access checked per batch. */
  summaryBySession: DataLoader<SessionEntity, SummaryResult, string>;
  snapshotCountBySession: DataLoader<string, number>;
  /** Stored boards of snapshots by snapshot id (the big column lists leave out). */
  snapshotBoardById: DataLoader<string, BoardState | undefined>;
  /** ClassroomSession.videoRoom of a page of sessions: one statement for the rooms that exist. */
  videoRoomBySession: DataLoader<SessionEntity, VideoRoomView | null, string>;
}

/**
 * May `viewerId` see `userId`'s email? The resolver names its viewer: Apollo runs resolvers on
 * a copy of the context, so a login earlier in the operation (authPayload sets `ctx.auth`) is
 * not seen by the context a loader was made with.
 */
export interface EmailQuestion {
  viewerId?: string;
  userId: string;
}

/** How each loader is made for a request; module-level, so a request allocates only what it uses. */
const LOADER_FACTORIES: { [K in keyof Loaders]: (ctx: RequestContext) => Loaders[K] } = {
  userById: ({ services }) => new DataLoader((ids) => services.users.byIds(ids)),
  emailVisible: ({ services }) =>
    new DataLoader(
      (questions: readonly EmailQuestion[]) => {
        // One query per viewer in the batch (there is one, unless a login changed it mid-operation).
        const byViewer = new Map<string, Promise<Set<string>>>();
        const visibleTo = (viewerId: string) => {
          let visible = byViewer.get(viewerId);
          if (!visible) {
            const userIds = questions.filter((q) => q.viewerId === viewerId).map((q) => q.userId);
            byViewer.set(viewerId, (visible = services.access.emailVisibleIds(viewerId, userIds)));
          }
          return visible;
        };
        return Promise.all(questions.map(async (q) => (q.viewerId ? (await visibleTo(q.viewerId)).has(q.userId) : false)));
      },
      { cacheKeyFn: (q) => `${q.viewerId ?? ""}:${q.userId}` },
    ),
  participantsBySession: (ctx) =>
    new DataLoader(async (ids) => {
      const { participants, users } = await ctx.services.sessionBatches.participantsOf(ids);
      // Read with them (what the User type shows of each): the participants' `user` fields
      // then cost no statement of their own.
      for (const user of users) ctx.loaders.userById.prime(user.id, user);
      return participants;
    }),
  participantById: ({ services }) => new DataLoader((ids) => services.sessionBatches.participantsByIds(ids)),
  classroomById: (ctx) => forViewer(ctx, (viewer, ids) => ctx.services.classrooms.readableByIds(viewer, ids)),
  membersByClassroom: ({ services }) => new DataLoader((ids) => services.classrooms.membersOf(ids)),
  bookingById: (ctx) => forViewer(ctx, (viewer, ids) => ctx.services.bookings.readableByIds(viewer, ids)),
  sessionById: (ctx) => forViewer(ctx, (viewer, ids) => ctx.services.sessionBatches.readableByIds(viewer, ids)),
  timelinePage: (ctx) =>
    new DataLoader((requests: readonly TimelineRequest[]) => ctx.services.history.timelinePages(ctx.auth, requests, ctx.readableSessions), {
      cacheKeyFn: (r) => JSON.stringify([r.sessionId, r.filter ?? null, r.first ?? null, r.after ?? null]),
    }),
  eventCountsBySession: (ctx) => new DataLoader((ids) => ctx.services.history.countsBySession(ctx.auth, ids)),
  summaryBySession: (ctx) =>
    new DataLoader((sessions: readonly SessionEntity[]) => ctx.services.history.summaries(ctx.auth, sessions), { cacheKeyFn: (s) => s.id }),
  snapshotCountBySession: (ctx) => new DataLoader((ids) => ctx.services.history.snapshotCounts(ctx.auth, ids)),
  snapshotBoardById: ({ services }) => new DataLoader((ids) => services.snapshots.boardsByIds(ids)),
  videoRoomBySession: ({ services }) =>
    new DataLoader((sessions: readonly SessionEntity[]) => services.videoRooms.rooms(sessions), { cacheKeyFn: (s) => s.id }),
};

/**
 * A request's loaders, each made the first time it is asked for: a request uses two or
 * three of them, and a live frame's execution often none.
 */
class RequestLoaders {
  readonly made: Partial<Loaders> = {};
  constructor(readonly ctx: RequestContext) {}
}
for (const name of Object.keys(LOADER_FACTORIES) as Array<keyof Loaders>) {
  Object.defineProperty(RequestLoaders.prototype, name, {
    get(this: RequestLoaders) {
      return (this.made[name] ??= LOADER_FACTORIES[name](this.ctx) as never);
    },
  });
}

/** A loader of what the viewer may read: nothing when signed out. */
function forViewer<T>(ctx: RequestContext, load: (viewer: string, ids: readonly string[]) => Promise<Array<T | undefined>>) {
  return new DataLoader<string, T | undefined>(async (ids) => {
    const viewer = ctx.auth.userId;
    return viewer ? load(viewer, ids) : ids.map(() => undefined);
  });
}

/** What every resolver receives, over HTTP and over WebSocket alike. */
export interface RequestContext {
  requestId: string;
  auth: AuthContext;
  clientIp?: string;
  services: Services;
  loaders: Loaders;
  /**
   * Sessions the access policy found this request's viewer may read, during this request
   * (the `session` query's own check): the same request's later reads of them (its timeline)
   * do not ask again. Never carried from one request or live frame to the next.
   */
  readableSessions: Set<string>;
  /**
   * How a subscription opens its stream. Set by the WebSocket transport, which executes and
   * serializes an item once for all its subscribers with the same operation; unset, the
   * services' default (a queue per subscriber) is used.
   */
  openStream?: OpenLiveStream;
}

/** A fresh context for one HTTP request or WebSocket operation (both transports use this). */
export function createRequestContext(init: Omit<RequestContext, "loaders" | "readableSessions">): RequestContext {
  const ctx = { ...init, readableSessions: new Set<string>() } as RequestContext;
  ctx.loaders = new RequestLoaders(ctx) as unknown as Loaders;
  return ctx;
}

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

/** Per-request batching: one set per HTTP request or WebSocket operation. */
export interface Loaders {
  userById: DataLoader<string, UserEntity | undefined>;
  /** Whether the signed-in viewer teaches the user (their classroom tutor or session host). */
  taughtByViewer: DataLoader<string, boolean>;
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
}

/**
 * The loaders, each made the first time it is asked for: a request uses two or three of them,
 * and a live frame's execution often none. `viewerId` is read when a batch runs, so a login
 * earlier in the operation counts.
 */
export function createLoaders(services: Services, viewerId: () => string | undefined, auth: () => AuthContext): Loaders {
  const make: { [K in keyof Loaders]: () => Loaders[K] } = {
    userById: () => new DataLoader((ids) => services.users.byIds(ids)),
    taughtByViewer: () =>
      new DataLoader(async (ids) => {
        const viewer = viewerId();
        const taught = viewer ? await services.access.taughtBy(viewer, ids) : new Set<string>();
        return ids.map((id) => taught.has(id));
      }),
    participantsBySession: () => new DataLoader((ids) => services.sessions.participantsOf(ids)),
    participantById: () => new DataLoader((ids) => services.sessions.participantsByIds(ids)),
    classroomById: () => forViewer(viewerId, (viewer, ids) => services.classrooms.readableByIds(viewer, ids)),
    membersByClassroom: () => new DataLoader((ids) => services.classrooms.membersOf(ids)),
    bookingById: () => forViewer(viewerId, (viewer, ids) => services.bookings.readableByIds(viewer, ids)),
    sessionById: () => forViewer(viewerId, (viewer, ids) => services.sessions.readableByIds(viewer, ids)),
    timelinePage: () =>
      new DataLoader((requests: readonly TimelineRequest[]) => services.history.timelinePages(auth(), requests), {
        cacheKeyFn: (r) => JSON.stringify([r.sessionId, r.filter ?? null, r.first ?? null, r.after ?? null]),
      }),
    eventCountsBySession: () => new DataLoader((ids) => services.history.countsBySession(auth(), ids)),
    summaryBySession: () =>
      new DataLoader((sessions: readonly SessionEntity[]) => services.history.summaries(auth(), sessions), { cacheKeyFn: (s) => s.id }),
    snapshotCountBySession: () => new DataLoader((ids) => services.history.snapshotCounts(auth(), ids)),
    snapshotBoardById: () => new DataLoader((ids) => services.snapshots.boardsByIds(ids)),
  };
  const made: Partial<Loaders> = {};
  return new Proxy(made as Loaders, {
    get: (target, name: keyof Loaders) => (target[name] ??= make[name]?.() as never),
  });
}

/** A loader of what the viewer may read: nothing when signed out. */
function forViewer<T>(viewerId: () => string | undefined, load: (viewer: string, ids: readonly string[]) => Promise<Array<T | undefined>>) {
  return new DataLoader<string, T | undefined>(async (ids) => {
    const viewer = viewerId();
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
   * How a subscription opens its stream. Set by the WebSocket transport, which executes and
   * serializes an item once for all its subscribers with the same operation; unset, the
   * services' default (a queue per subscriber) is used.
   */
  openStream?: OpenLiveStream;
}

/** The signed-in viewer (cached per request), or undefined. */
export async function viewer(ctx: RequestContext): Promise<UserEntity | undefined> {
  const id = ctx.auth.userId;
  return id ? ctx.loaders.userById.load(id) : undefined;
}

/** A fresh context for one HTTP request or WebSocket operation (both transports use this). */
export function createRequestContext(init: Omit<RequestContext, "loaders">): RequestContext {
  const ctx = { ...init } as RequestContext;
  ctx.loaders = createLoaders(init.services, () => ctx.auth.userId, () => ctx.auth);
  return ctx;
}

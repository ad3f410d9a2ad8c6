import "reflect-metadata";
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { BookingResolver } from "../resolvers/booking.resolver";
import { ClassroomResolver } from "../resolvers/classroom.resolver";
import { ParticipantActionsResolver } from "../resolvers/participant-actions.resolver";
import { ParticipantResolver } from "../resolvers/participant.resolver";
import { RealtimeResolver } from "../resolvers/realtime.resolver";
import { SessionResolver } from "../resolvers/session.resolver";
import { BoardResolver, SessionBoardResolver } from "../resolvers/board.resolver";
import { BoardStateResolver } from "../resolvers/board-state.resolver";
import { TimelineResolver } from "../resolvers/timeline.resolver";
import { SystemEventsResolver } from "../resolvers/system-events.resolver";
import {
  LessonReportResolver,
  ParticipantReportResolver,
  SessionHistoryResolver,
  SessionSummaryResolver,
  TimelineConnectionResolver,
  UserActivityResolver,
} from "../resolvers/history.resolver";
import { BoardSnapshotResolver, SessionReplayResolver } from "../resolvers/history-board.resolver";
import { PushResolver } from "../resolvers/push.resolver";
import { TelemetryResolver } from "../resolvers/telemetry.resolver";
import { UserResolver } from "../resolvers/user.resolver";
import { SyncResolver } from "../resolvers/sync.resolver";
import { JoinVideoTokenResolver, RecordingResolver, VideoRoomResolver } from "../resolvers/video.resolver";
import { TeachingStatsResolver } from "../resolvers/teaching-stats.resolver";
import { DateTimeScalar, JSONScalar, MAX_JSON_DEPTH, jsonScalar } from "./scalars";

/** The schema of each JSON depth asked for (one in a deployment; tests may set others). */
const built = new Map<number, Promise<GraphQLSchema>>();
/** The last build: type-graphql builds from process-wide state, so builds never overlap. */
let lastBuild: Promise<unknown> = Promise.resolve();

/**
 * The API's schema, built once per process (and `maxJsonDepth`, MAX_JSON_DEPTH) from the
 * resolvers. It holds no other per-instance state: services reach resolvers through the
 * request context.
 */
export function buildGraphQLSchema({ maxJsonDepth = MAX_JSON_DEPTH }: { maxJsonDepth?: number } = {}): Promise<GraphQLSchema> {
  const cached = built.get(maxJsonDepth);
  if (cached) return cached;
  const schema = lastBuild.then(() => build(maxJsonDepth));
  lastBuild = schema.catch(() => undefined);
  built.set(maxJsonDepth, schema);
  return schema;
}

/**
 * Descriptions of the root types, which type-graphql builds without one: what holds for every
 * operation of the kind (GraphiQL's docs explorer shows them first).
 */
const ROOT_DESCRIPTIONS: Record<string, string> = {
  Query: [
    "Reads. Send `Authorization: Bearer <accessToken>` (from register or login); without a valid one every field answers UNAUTHENTICATED.",
    "A session, classroom or booking you may not read is null, never an error, so existence does not leak. On the realtime socket, a session token reads its own session.",
    "Any operation may also answer GRAPHQL_VALIDATION_FAILED (depth 10, 15 aliases, 2000 tokens, cost 5000 with lists weighted by `first`), " +
      "BAD_USER_INPUT (malformed input; NUL characters and unpaired surrogates are refused in every string) and UNAVAILABLE (the database is briefly unreachable: retry after `retryAfterMs`).",
  ].join("\n\n"),
  Mutation: [
    "Changes. Send `Authorization: Bearer <accessToken>`; only register and login work without one (UNAUTHENTICATED otherwise). " +
      "On the realtime socket, the operations on one session also take that session's token (from joinSession); it is FORBIDDEN for anything else.",
    "A session you cannot reach at all is NOT_FOUND; FORBIDDEN means you lack the role or permission, or were kicked. " +
      "A seat is a participant status of JOINING, CONNECTED or RECONNECTING.",
    "Like queries, any mutation may answer GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT and UNAVAILABLE; UNAVAILABLE means nothing was written: retry, with the same clientOpIds.",
  ].join("\n\n"),
  Subscription: [
    "Live streams, over graphql-ws on /graphql only. The socket authenticates at connect with an access token or a session token " +
      "(`connectionParams.authorization` or the upgrade's Authorization header): close 4401 without a valid one, and when it expires. At most 50 subscriptions per socket.",
    "A session's streams answer NOT_FOUND when you cannot read it and FORBIDDEN when you were kicked (a kick ends them with FORBIDDEN); " +
      "a subscriber that falls behind ends with RESYNC_REQUIRED. A seated participant's subscription to their session is their realtime connection (CONNECTED).",
  ].join("\n\n"),
};

async function build(maxJsonDepth: number): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [
      UserResolver,
      SessionResolver,
      ParticipantResolver,
      ParticipantActionsResolver,
      ClassroomResolver,
      BookingResolver,
      TimelineResolver,
      SystemEventsResolver,
      RealtimeResolver,
      BoardResolver,
      SessionBoardResolver,
      SyncResolver,
      BoardStateResolver,
      SessionHistoryResolver,
      TimelineConnectionResolver,
      UserActivityResolver,
      ParticipantReportResolver,
      SessionSummaryResolver,
      LessonReportResolver,
      SessionReplayResolver,
      BoardSnapshotResolver,
      TelemetryResolver,
      PushResolver,
      VideoRoomResolver,
      JoinVideoTokenResolver,
      RecordingResolver,
      TeachingStatsResolver,
    ],
    scalarsMap: [
      { type: Date, scalar: DateTimeScalar },
      { type: JSONScalar, scalar: jsonScalar(maxJsonDepth) },
    ],
    validate: false,
    // Every subscription brings its own `subscribe` (auth, backfill); topic-based ones are
    // not used, but type-graphql insists on a PubSub.
    pubSub: {
      publish: () => {
        throw new Error("topic-based subscriptions are not used");
      },
      subscribe: () => {
        throw new Error("topic-based subscriptions are not used");
      },
    },
  });
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (root) root.description = ROOT_DESCRIPTIONS[root.name];
  }
  return schema;
}

/** The SDL committed as schema.graphql. */
export async function printSchemaSDL(): Promise<string> {
  return printSchema(lexicographicSortSchema(await buildGraphQLSchema())) + "\n";
}

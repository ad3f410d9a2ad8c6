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
import {
  LessonReportResolver,
  ParticipantReportResolver,
  SessionHistoryResolver,
  SessionSummaryResolver,
  TimelineConnectionResolver,
  UserActivityResolver,
} from "../resolvers/history.resolver";
import { BoardSnapshotResolver, SessionReplayResolver } from "../resolvers/history-board.resolver";
import { UserResolver } from "../resolvers/user.resolver";
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

function build(maxJsonDepth: number): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      UserResolver,
      SessionResolver,
      ParticipantResolver,
      ParticipantActionsResolver,
      ClassroomResolver,
      BookingResolver,
      TimelineResolver,
      RealtimeResolver,
      BoardResolver,
      SessionBoardResolver,
      BoardStateResolver,
      SessionHistoryResolver,
      TimelineConnectionResolver,
      UserActivityResolver,
      ParticipantReportResolver,
      SessionSummaryResolver,
      LessonReportResolver,
      SessionReplayResolver,
      BoardSnapshotResolver,
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
}

/** The SDL committed as schema.graphql. */
export async function printSchemaSDL(): Promise<string> {
  return printSchema(lexicographicSortSchema(await buildGraphQLSchema())) + "\n";
}

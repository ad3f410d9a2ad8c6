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
import { DateTimeScalar } from "./scalars";

let built: Promise<GraphQLSchema> | undefined;

/**
 * The API's schema, built once per process from the resolvers (it holds no per-instance
 * state: services reach resolvers through the request context).
 */
export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: [UserResolver, SessionResolver, ParticipantResolver, ParticipantActionsResolver, ClassroomResolver, BookingResolver, TimelineResolver, RealtimeResolver, BoardResolver, SessionBoardResolver,
      SessionHistoryResolver, TimelineConnectionResolver, UserActivityResolver, ParticipantReportResolver, SessionSummaryResolver, LessonReportResolver,
      SessionReplayResolver, BoardSnapshotResolver],
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
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
  return built;
}

/** The SDL committed as schema.graphql. */
export async function printSchemaSDL(): Promise<string> {
  return printSchema(lexicographicSortSchema(await buildGraphQLSchema())) + "\n";
}

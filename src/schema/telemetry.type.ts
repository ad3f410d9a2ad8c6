import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { EDGE_CURSOR, TOTAL_COUNT } from "./descriptions";
import { PageInfo } from "./page.type";
import { DateTimeScalar, JSONScalar } from "./scalars";

@ObjectType({
  description:
    "An event a client sent to POST /api/v1/logs/telemetry (W3), kept TELEMETRY_RETENTION_DAYS (14). The columns beside `event` are copied out of it when present; no client address is kept.",
})
export class TelemetryEvent {
  @Field(() => ID, { description: "The stored event's id." })
  id: string;

  @Field(() => DateTimeScalar, { description: "When the server accepted it (millisecond precision)." })
  receivedAt: Date;

  @Field(() => ID, {
    nullable: true,
    description: "The sender, when the request carried a valid access token (and the account still exists); null for anonymous events.",
  })
  userId: string | null;

  @Field(() => String, { nullable: true, description: "The event's `type` (or else `name`) string, trimmed, at most 100 characters." })
  type: string | null;

  @Field(() => String, { nullable: true, description: "The event's `level` string, at most 32 characters." })
  level: string | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "The event's own `timestamp` (milliseconds since the epoch, or ISO 8601), on the client's clock; null when absent or not a time.",
  })
  clientTimestamp: Date | null;

  @Field(() => String, { nullable: true, description: "The event's `platform` string, at most 50 characters." })
  platform: string | null;

  @Field(() => String, { nullable: true, description: "The event's `app_version` (or `appVersion`) string, at most 50 characters." })
  appVersion: string | null;

  @Field(() => ID, { nullable: true, description: "The event's `session_id` (or `sessionId`) when it is a UUID; not checked against any session." })
  sessionId: string | null;

  @Field(() => JSONScalar, { description: "The event as the client sent it (a JSON object)." })
  event: Record<string, unknown>;
}

@ObjectType({ description: "One event of a TelemetryEventConnection page." })
export class TelemetryEventEdge {
  @Field({ description: EDGE_CURSOR })
  cursor: string;

  @Field(() => TelemetryEvent, { description: "The event." })
  node: TelemetryEvent;
}

@ObjectType({ description: "A page of telemetry events, newest first (by receivedAt)." })
export class TelemetryEventConnection {
  @Field(() => [TelemetryEventEdge], { description: "The events of this page." })
  edges: TelemetryEventEdge[];

  @Field(() => PageInfo, { description: "Where this page is in the list." })
  pageInfo: PageInfo;

  @Field(() => Int, { description: TOTAL_COUNT })
  totalCount: number;
}

@InputType({ description: "Narrows telemetryEvents: every criterion is optional, and an event must match all those given." })
export class TelemetryEventFilter {
  @Field(() => String, { nullable: true, description: "Only events of this exact `type`." })
  type?: string;

  @Field(() => String, { nullable: true, description: "Only events of this exact `level`." })
  level?: string;

  @Field(() => ID, { nullable: true, description: "Only the events this user sent (signed in); BAD_USER_INPUT when it is no user id." })
  userId?: string;

  @Field(() => DateTimeScalar, { nullable: true, description: "Only events received at or after this instant." })
  since?: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "Only events received before this instant (exclusive)." })
  until?: Date;
}

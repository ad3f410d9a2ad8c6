import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { SessionStatus } from "../entities/session.entity";
import { SystemEventKind } from "../services/system-events";
import { DateTimeScalar, JSONScalar } from "./scalars";
import "./session.type"; // registers SessionStatus

registerEnumType(SystemEventKind, { name: "SystemEventKind" });

/** Resolved from SystemEventView; `participant` is a field resolver. */
@ObjectType()
export class SystemEvent {
  @Field(() => ID) sessionId: string;
  @Field(() => Int, { nullable: true, description: "Timeline seq of the event behind it; null for ephemeral notifications." })
  seq: number | null;
  @Field(() => SystemEventKind) kind: SystemEventKind;
  @Field(() => SessionStatus, { nullable: true }) status: SessionStatus | null;
  @Field(() => String, { nullable: true }) message: string | null;
  @Field(() => JSONScalar, { nullable: true }) data: Record<string, unknown> | null;
  @Field(() => DateTimeScalar) at: Date;
}

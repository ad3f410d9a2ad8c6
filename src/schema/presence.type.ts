import { Field, Float, ID, ObjectType, registerEnumType } from "type-graphql";
import { PresenceKind } from "../services/presence-hub";

registerEnumType(PresenceKind, { name: "PresenceKind" });

@ObjectType()
export class Cursor {
  @Field(() => ID) userId: string;
  @Field(() => Float) x: number;
  @Field(() => Float) y: number;
  @Field(() => String, { nullable: true }) tool: string | null;
  @Field(() => String, { nullable: true }) color: string | null;
}

/** Resolved from PresenceFrame; `user` is a field resolver (RealtimeResolver). */
@ObjectType()
export class PresenceUpdate {
  @Field(() => ID) sessionId: string;
  @Field(() => PresenceKind) kind: PresenceKind;
  @Field(() => [Cursor], { description: "Batched cursor positions: one frame carries the latest position of every user that moved." })
  cursors: Cursor[];
  @Field(() => [ID]) onlineUserIds: string[];
}

import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { BoardEventInput, ConflictStrategy } from "./board.type";
import { JSONScalar } from "./scalars";

@ObjectType({ description: "One change for an offline client's cache: a timeline event, by the entity it changes." })
export class SyncChange {
  @Field({ description: "board, chat, session or participant." }) entity: string;
  @Field(() => Int, { description: "The event's timeline seq; changes come in seq order." }) seq: number;
  @Field(() => JSONScalar, {
    description:
      "The event: id, type, userId, timestampMs and its data; a board change also has version and clientOpId and its op type without the BOARD_ prefix (the shape of BoardEvent), ready for the board engine.",
  })
  data: unknown;
}

@ObjectType({ description: "A page of changes after a device's checkpoint." })
export class SyncPullPayload {
  @Field(() => [SyncChange], { description: "The changes after the checkpoint, in seq order." }) changes: SyncChange[];
  @Field(() => Int, {
    description: "The new checkpoint (the last change's seq, or the one pulled from when there was none): pass it as `since` next; stored for the device.",
  })
  checkpoint: number;
  @Field({ description: "True when more changes follow: pull again from the new checkpoint." }) hasMore: boolean;
}

@InputType({ description: "Board operations a device made offline, pushed when it is back." })
export class SyncPushInput {
  @Field({ description: "The pushing device (1 to 128 printable characters)." }) deviceId: string;
  @Field(() => ID, { description: "The session the ops were made in." }) sessionId: string;
  @Field(() => ConflictStrategy, { nullable: true, description: "What becomes of conflicting ops; LAST_WRITE_WINS when omitted." })
  strategy?: ConflictStrategy | null;
  @Field(() => [BoardEventInput], { description: "The ops, in the order they were made (at most MAX_BOARD_OPS_PER_BATCH, 500, per push)." })
  events: BoardEventInput[];
}

import { Field, Float, ID, ObjectType, registerEnumType } from "type-graphql";
import { PresenceKind } from "../services/presence-hub";

registerEnumType(PresenceKind, {
  name: "PresenceKind",
  description: "What a presence frame tells.",
  valuesConfig: {
    STATUS: { description: "The full state (who is online, their last cursors): always the first frame." },
    JOINED: { description: "A user came online in the session (a realtime connection to it); see `user`." },
    LEFT: { description: "A user went offline: their last connection closed, or no heartbeat for PRESENCE_TTL_MS (15 s); see `user`." },
    CURSORS: { description: "The cursors that moved, at most one frame per CURSOR_TICK_MS (50 ms)." },
  },
});

@ObjectType({ description: "Where a user's cursor is on the board, as their client last sent it (moveCursor)." })
export class Cursor {
  @Field(() => ID, { description: "Whose cursor it is." }) userId: string;
  @Field(() => Float, { description: "Horizontal board coordinate." }) x: number;
  @Field(() => Float, { description: "Vertical board coordinate." }) y: number;
  @Field(() => String, { nullable: true, description: "The tool in use, as the client names it; null when not given." }) tool: string | null;
  @Field(() => String, { nullable: true, description: "The cursor's colour, as the client gives it; null when not given." }) color: string | null;
}

/** Resolved from PresenceFrame; `user` is a field resolver (RealtimeResolver). */
@ObjectType({ description: "One frame of a session's presence stream: who is online and where their cursors are." })
export class PresenceUpdate {
  @Field(() => ID, { description: "The session." }) sessionId: string;
  @Field(() => PresenceKind, { description: "What this frame tells." }) kind: PresenceKind;
  @Field(() => [Cursor], { description: "Batched cursor positions: one frame carries the latest position of every user that moved." })
  cursors: Cursor[];
  @Field(() => [ID], { description: "Who is online after this frame, as the instance that delivers it sees the session." }) onlineUserIds: string[];
}

import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { SessionStatus } from "../entities/session.entity";
import { SystemEventKind } from "../services/system-events";
import { DateTimeScalar, JSONScalar } from "./scalars";
import "./session.type"; // registers SessionStatus

registerEnumType(SystemEventKind, {
  name: "SystemEventKind",
  description: "What a SystemEvent tells.",
  valuesConfig: {
    SESSION_STATUS: { description: "The session was created or changed status (started, paused, resumed, ended); see `status`." },
    PARTICIPANT_UPDATE: {
      description:
        "A participant joined, left, reconnected, was disconnected or kicked, or changed their media or raised hand; see `participant` and `data.type`.",
    },
    PERMISSION_UPDATE: { description: "A participant's role or grants changed." },
    KICKED: {
      description:
        "You were removed from the session (only the kicked user gets it; the others get a PARTICIPANT_UPDATE); `message` says why. Your stream then ends with FORBIDDEN.",
    },
    NOTIFICATION: {
      description:
        "An in-app notice, delivered to whoever is subscribed then and never recorded (`seq` null): `message` is its text; `data.type` says what it is about (LESSON_STARTING: a scheduled lesson starts within 10 minutes, with `data.scheduledStart`; REPORT_READY: after COMPLETED, to those who may read the report), `data.title` is a headline and `data.id` is the same for every delivery of one notice. The video provider's recording starting and stopping are NOTIFICATIONs too, recorded (with `seq`; `data.type` RECORDING_START or RECORDING_STOP).",
    },
    CHAT_MESSAGE: { description: "A chat message (sendChatMessage); `message` is its text." },
  },
});

/** Resolved from SystemEventView; `participant` is a field resolver. */
@ObjectType({ description: "Something that happened in a session, as the systemEvents subscription delivers it." })
export class SystemEvent {
  @Field(() => ID, { description: "The session it happened in." }) sessionId: string;
  @Field(() => Int, { nullable: true, description: "Timeline seq of the event behind it; null for ephemeral notifications." })
  seq: number | null;
  @Field(() => SystemEventKind, { description: "What happened." }) kind: SystemEventKind;
  @Field(() => SessionStatus, { nullable: true, description: "The session's status after it, for SESSION_STATUS; null otherwise." })
  status: SessionStatus | null;
  @Field(() => String, { nullable: true, description: "The text of a CHAT_MESSAGE or a NOTIFICATION, the reason of a KICKED; null otherwise." })
  message: string | null;
  @Field(() => JSONScalar, {
    nullable: true,
    description: "The timeline event behind it: its `type` (a SessionEventType) and its data; for a NOTIFICATION, the notice's type, id, title and details.",
  })
  data: Record<string, unknown> | null;
  @Field(() => DateTimeScalar, { description: "When it was recorded (a notice: when it was sent)." }) at: Date;
}

import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeScalar, JSONScalar } from "./scalars";
import { SignalType } from "../realtime/messages";

registerEnumType(SignalType, {
  name: "SignalType",
  description:
    "What a WebRTC signal is. The server relays every type as sent; the MUTE_*, UNMUTE_* and SCREEN_SHARE_* types first set the sender's media state, with its permission checks.",
  valuesConfig: {
    OFFER: { description: "A session description offer." },
    ANSWER: { description: "The answer to an OFFER." },
    ICE_CANDIDATE: { description: "An ICE candidate." },
    JOIN: { description: "The sender's media is ready to connect." },
    LEAVE: { description: "The sender's media is going away." },
    MUTE_AUDIO: { description: "Microphone off (audioEnabled false)." },
    UNMUTE_AUDIO: { description: "Microphone on (audioEnabled true); needs canToggleAudio." },
    MUTE_VIDEO: { description: "Camera off (videoEnabled false)." },
    UNMUTE_VIDEO: { description: "Camera on (videoEnabled true); needs canToggleVideo." },
    SCREEN_SHARE_START: { description: "Screen sharing on; needs canShareScreen, CONFLICT while someone else shares." },
    SCREEN_SHARE_STOP: { description: "Screen sharing off." },
  },
});

@InputType({ description: "A WebRTC signal to relay (sendSignal)." })
export class SignalInput {
  @Field(() => SignalType, { description: "What the signal is." }) type: SignalType;
  @Field(() => ID, {
    nullable: true,
    description: "Omit to send to every other participant; else another participant holding a seat (BAD_USER_INPUT otherwise).",
  })
  toUserId?: string | null;
  @Field(() => JSONScalar, { description: "Relayed as given: at most 64 KiB as JSON (MAX_SIGNAL_PAYLOAD_BYTES; PAYLOAD_TOO_LARGE beyond)." })
  payload: unknown;
}

@ObjectType({ description: "A WebRTC signal relayed to the subscriber (the signals subscription)." })
export class Signal {
  @Field(() => ID, { description: "The session it was sent in." }) sessionId: string;
  @Field(() => SignalType, { description: "What the signal is." }) type: SignalType;
  @Field(() => ID, { description: "The sender's user id." }) fromUserId: string;
  @Field(() => ID, { nullable: true, description: "The recipient's user id; null when sent to every participant." }) toUserId: string | null;
  @Field(() => JSONScalar, { description: "As the sender gave it." }) payload: unknown;
  @Field(() => DateTimeScalar, { description: "When the server relayed it." }) sentAt: Date;
}

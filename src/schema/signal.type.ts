import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeScalar, JSONScalar } from "./scalars";
import { SignalType } from "../realtime/messages";

registerEnumType(SignalType, { name: "SignalType" });

@InputType()
export class SignalInput {
  @Field(() => SignalType) type: SignalType;
  @Field(() => ID, { nullable: true, description: "Omit to send to every other participant." })
  toUserId?: string | null;
  @Field(() => JSONScalar) payload: unknown;
}

@ObjectType()
export class Signal {
  @Field(() => ID) sessionId: string;
  @Field(() => SignalType) type: SignalType;
  @Field(() => ID) fromUserId: string;
  @Field(() => ID, { nullable: true }) toUserId: string | null;
  @Field(() => JSONScalar) payload: unknown;
  @Field(() => DateTimeScalar) sentAt: Date;
}

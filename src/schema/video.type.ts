import { Field, ObjectType } from "type-graphql";

@ObjectType({ description: "A video room at the configured provider (VIDEO_PROVIDER)." })
export class VideoRoom {
  @Field({ description: "p2p or daily." }) provider: string;
  @Field({ description: "The room's name at the provider." }) name: string;
  @Field({ description: "Where participants open the call, with their videoToken." }) url: string;
}

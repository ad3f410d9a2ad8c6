import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { DateTimeScalar } from "./scalars";

@ObjectType({
  description:
    "A web push subscription of yours on one browser or device (W5). Only its owner sees it. Removed when the push service answers 404 or 410, and once expiresAt has passed.",
})
export class PushSubscription {
  @Field(() => ID, { description: "The subscription's id (unregisterPushSubscription, sendTestPush)." })
  id: string;

  @Field(() => String, { nullable: true, description: "The device it was registered from, as the client named it." })
  deviceId: string | null;

  @Field(() => String, { description: "The push service's https URL the browser gave." })
  endpoint: string;

  @Field(() => DateTimeScalar, { description: "When it was first registered." })
  createdAt: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "When the browser said it expires; null for never." })
  expiresAt: Date | null;

  @Field(() => Int, { description: "Failed deliveries since the last successful one (a failure is retried with backoff, at most 5 tries)." })
  failureCount: number;
}

@InputType({
  description: "A browser's PushSubscription (its toJSON(): endpoint, keys.p256dh, keys.auth, expirationTime), subscribed with the key of pushPublicKey.",
})
export class PushSubscriptionInput {
  @Field(() => String, { nullable: true, description: "A name of the device, at most 200 characters, to tell subscriptions apart." })
  deviceId?: string | null;

  @Field(() => String, { description: "The push service's URL: https only (BAD_USER_INPUT otherwise), at most 2048 characters." })
  endpoint: string;

  @Field(() => String, { description: "keys.p256dh: the browser's P-256 public key, base64url (65 bytes uncompressed)." })
  p256dh: string;

  @Field(() => String, { description: "keys.auth: the browser's 16-byte authentication secret, base64url." })
  auth: string;

  @Field(() => DateTimeScalar, { nullable: true, description: "expirationTime, when the browser gives one; must be in the future." })
  expiresAt?: Date | null;
}

import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { PushSubscriptionEntity } from "../entities/push-subscription.entity";
import { PushSubscription, PushSubscriptionInput } from "../schema/push.type";
import type { RequestContext } from "./context";

/** Web push (W5): thin over PushService. */
@Resolver(() => PushSubscription)
export class PushResolver {
  @Query(() => String, {
    description:
      "The VAPID public key browsers need to subscribe for web push. Needs no sign-in. UNAVAILABLE (retryable: false) when web push is not enabled on this server.",
  })
  pushPublicKey(@Ctx() ctx: RequestContext): string {
    return ctx.services.push.vapidPublicKey();
  }

  @Query(() => [PushSubscription], { description: "Your unexpired web push subscriptions, oldest first." })
  myPushSubscriptions(@Ctx() ctx: RequestContext): Promise<PushSubscriptionEntity[]> {
    return ctx.services.push.mine(ctx.auth);
  }

  @Mutation(() => PushSubscription, {
    description:
      "Registers this browser's push subscription, or updates yours with the same endpoint (keys, device, expiry; failureCount back to 0). Beyond 20 subscriptions, your least recently registered one is dropped. BAD_USER_INPUT for an endpoint that is not https or malformed keys; UNAVAILABLE when web push is off.",
  })
  registerPushSubscription(
    @Arg("input", () => PushSubscriptionInput, { description: "The browser's subscription." }) input: PushSubscriptionInput,
    @Ctx() ctx: RequestContext,
  ): Promise<PushSubscriptionEntity> {
    return ctx.services.push.register(ctx.auth, input);
  }

  @Mutation(() => Boolean, { description: "Removes one of your push subscriptions: true; NOT_FOUND for an unknown id or someone else's." })
  unregisterPushSubscription(@Arg("id", () => ID, { description: "The subscription's id." }) id: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.push.unregister(ctx.auth, id);
  }

  @Mutation(() => Boolean, {
    description:
      "Sends a test notification to one of your subscriptions now: true when the push service accepted it; false when it failed (retried in the background), the push service no longer knows the subscription (it is removed) or its address is refused. NOT_FOUND for an unknown id or someone else's.",
  })
  sendTestPush(@Arg("id", () => ID, { description: "The subscription's id." }) id: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.push.sendTest(ctx.auth, id);
  }
}

import { Arg, Ctx, FieldResolver, Int, Mutation, Resolver, Root } from "type-graphql";
import type { z } from "zod";

import { requireUser } from "../../../platform/graphql/context";
import { validateInput } from "../../../platform/graphql/validation";
import { TrackedEvent } from "../entities/tracked-event.entity";
import { UserActivity } from "./activity.type";
import type { AnalyticsContext } from "./context";
import { TrackEventInput, trackEventSchema, trackEventsSchema } from "./track-event.input";

const trackedEvent = (userId: string, { name, properties, occurredAt }: z.output<typeof trackEventSchema>) =>
  Object.assign(new TrackedEvent(), {
    userId,
    name,
    properties: properties ?? {},
    occurredAt: occurredAt ?? new Date(),
  });
import { User } from "./user.type";

@Resolver(() => User)
export class AnalyticsResolver {
  @Mutation(() => Boolean, { description: "Signed-in callers" })
  async trackEvent(@Arg("input") input: TrackEventInput, @Ctx() ctx: AnalyticsContext): Promise<boolean> {
    const caller = requireUser(ctx);
    await ctx.deps.ingester.track([trackedEvent(caller.userId, validateInput(trackEventSchema, input))]);
    return true;
  }

  @Mutation(() => Int, {
    description: "Signed-in callers: up to 100 events at once, all or none; returns how many were recorded",
  })
  async trackEvents(
    @Arg("inputs", () => [TrackEventInput]) inputs: TrackEventInput[],
    @Ctx() ctx: AnalyticsContext,
  ): Promise<number> {
    const caller = requireUser(ctx);
    const valid = validateInput(trackEventsSchema, { inputs }, "");
    return ctx.deps.ingester.track(valid.inputs.map((input) => trackedEvent(caller.userId, input)));
  }

  @FieldResolver(() => UserActivity, { description: "Self or ADMIN" })
  activity(@Root() user: User, @Ctx() ctx: AnalyticsContext): Promise<UserActivity> {
    return ctx.loaders.activity.load(user.id);
  }
}

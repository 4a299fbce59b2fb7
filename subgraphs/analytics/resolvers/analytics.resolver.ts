import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import { requireUser } from "../../../platform/graphql/context";
import { validateInput } from "../../../platform/graphql/validation";
import { userErased } from "../../../platform/events/erasure";
import { TrackedEvent } from "../entities/tracked-event.entity";
import { recordEvents } from "../services/rollups";
import { UserActivity } from "./activity.type";
import type { AnalyticsContext } from "./context";
import { TrackEventInput, trackEventSchema } from "./track-event.input";
import { User } from "./user.type";

@Resolver(() => User)
export class AnalyticsResolver {
  @Mutation(() => Boolean, { description: "Signed-in callers" })
  async trackEvent(@Arg("input") input: TrackEventInput, @Ctx() ctx: AnalyticsContext): Promise<boolean> {
    const caller = requireUser(ctx);
    const { name, properties, occurredAt } = validateInput(trackEventSchema, input);
    const event = Object.assign(new TrackedEvent(), {
      userId: caller.userId,
      name,
      properties: properties ?? {},
      occurredAt: occurredAt ?? new Date(),
    });
    // The rollups change in the event's transaction; an account erased meanwhile gets nothing back.
    await ctx.em.transactional(async (em) => {
      if (await userErased(em, caller.userId)) return;
      await recordEvents(em, [event]);
    });
    return true;
  }

  @FieldResolver(() => UserActivity, { description: "Self or ADMIN" })
  activity(@Root() user: User, @Ctx() ctx: AnalyticsContext): Promise<UserActivity> {
    return ctx.loaders.activity.load(user.id);
  }
}

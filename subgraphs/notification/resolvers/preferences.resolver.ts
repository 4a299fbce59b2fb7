import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";

import { requireUser } from "../../../platform/graphql/context";
import { validateInput } from "../../../platform/graphql/validation";
import { channelSettings, savePreferences } from "../services/preferences";
import type { NotificationContext } from "./context";
import {
  ChannelPreferenceInput,
  channelPreferencesSchema,
  NotificationPreferences,
  toPreferences,
} from "./preferences.type";
import { User } from "./user.type";

@Resolver(() => User)
export class PreferencesResolver {
  @FieldResolver(() => NotificationPreferences, {
    description: "Self or ADMIN; every channel, enabled unless the user switched it off",
  })
  async notificationPreferences(
    @Root() user: User,
    @Ctx() ctx: NotificationContext,
  ): Promise<NotificationPreferences> {
    return toPreferences(await ctx.loaders.preferences.load(user.id));
  }

  @Mutation(() => NotificationPreferences, {
    description: "Switches the given channels on or off for the caller; the others keep their setting",
  })
  async updateNotificationPreferences(
    @Arg("channels", () => [ChannelPreferenceInput]) channels: ChannelPreferenceInput[],
    @Ctx() ctx: NotificationContext,
  ): Promise<NotificationPreferences> {
    const caller = requireUser(ctx);
    const choices = validateInput(channelPreferencesSchema, channels, "channels");
    await savePreferences(ctx.em, caller.userId, choices);
    const settings = (await channelSettings(ctx.em, [caller.userId])).get(caller.userId)!;
    return toPreferences(settings);
  }
}

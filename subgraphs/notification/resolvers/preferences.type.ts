import { Field, InputType, ObjectType } from "type-graphql";
import { z } from "zod";

import { NotificationChannel } from "../entities/notification.entity";
import { CHANNELS, type ChannelSettings } from "../services/preferences";

@ObjectType({ description: "Whether a user receives messages on one channel" })
export class ChannelPreference {
  @Field(() => NotificationChannel, { description: "The channel" })
  channel!: NotificationChannel;

  @Field({ description: "False: the user switched the channel off" })
  enabled!: boolean;
}

@ObjectType({ description: "Per channel; security messages are sent whatever these say" })
export class NotificationPreferences {
  @Field(() => [ChannelPreference], { description: "One per channel" })
  channels!: ChannelPreference[];
}

@InputType({ description: "A channel switched on or off" })
export class ChannelPreferenceInput {
  @Field(() => NotificationChannel, { description: "The channel, at most once per call" })
  channel!: NotificationChannel;

  @Field({ description: "True: receive messages on it" })
  enabled!: boolean;
}

export const toPreferences = (settings: ChannelSettings): NotificationPreferences => ({
  channels: CHANNELS.map((channel) => ({ channel, enabled: settings[channel] })),
});

/** Each channel at most once: two answers for one channel would leave the outcome to chance. */
export const channelPreferencesSchema = z
  .array(z.object({ channel: z.enum(NotificationChannel), enabled: z.boolean() }))
  .superRefine((channels, ctx) => {
    const seen = new Set<NotificationChannel>();
    channels.forEach(({ channel }, index) => {
      if (seen.has(channel))
        ctx.addIssue({ code: "custom", path: [index, "channel"], message: `${channel} is given twice` });
      seen.add(channel);
    });
  });

import { Field, ID, InputType } from "type-graphql";
import { z } from "zod";

import { isUuid } from "../../../platform/database/loaders";
import { NotificationChannel } from "../entities/notification.entity";

export const MAX_RECIPIENTS = 1000;
export const MAX_TITLE = 200;
export const MAX_BODY = 5000;

@InputType({ description: "A message an ADMIN sends to users" })
export class SendNotificationInput {
  @Field(() => [ID], { description: "The recipients, 1 to 1000" })
  userIds!: string[];

  @Field(() => NotificationChannel, { description: "The channel to send it on" })
  channel!: NotificationChannel;

  @Field({ description: "The subject line, 1 to 200 characters" })
  title!: string;

  @Field({ description: "The message text, 1 to 5000 characters" })
  body!: string;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: "A marketing message: sent only to users who opted in (Preferences.marketingOptIn)",
  })
  marketing?: boolean | null;
}

const text = (max: number) =>
  z
    .string()
    .transform((value) => value.trim())
    .pipe(
      z
        .string()
        .min(1, { error: "must not be empty" })
        .max(max, { error: `must be at most ${max} characters` }),
    );

export const sendNotificationSchema = z.object({
  userIds: z
    .array(z.string().refine(isUuid, { error: "must be a user id" }))
    .min(1, { error: "must name at least one user" })
    .max(MAX_RECIPIENTS, { error: `must name at most ${MAX_RECIPIENTS} users` }),
  channel: z.enum(NotificationChannel),
  title: text(MAX_TITLE),
  body: text(MAX_BODY),
  marketing: z.boolean().nullish(),
});

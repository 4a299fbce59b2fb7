import { Arg, Ctx, Mutation, Resolver } from "type-graphql";

import { badUserInput } from "../../../platform/errors";
import { validateInput } from "../../../platform/graphql/validation";
import { Notification } from "../entities/notification.entity";
import { Recipient } from "../entities/recipient.entity";
import { dispatchIds, recordDeliveries } from "../services/deliveries";
import { ADMIN_MESSAGE_KIND, adminMessageMail, MARKETING_KIND } from "../services/messages";
import { allowed, channelSettings, marketingConsents } from "../services/preferences";
import type { NotificationContext } from "./context";
import { NotificationType } from "./notification.type";
import { SendNotificationInput, sendNotificationSchema } from "./send-notification.input";

@Resolver(() => NotificationType)
export class SendNotificationResolver {
  /**
   * ADMIN: one message to many users on one channel, recorded in one transaction. Users who
   * switched the channel off are skipped (no row is returned for them), and for a marketing message
   * so are users who did not opt in; e-mails, SMS and push go through the DeliveryDispatcher once
   * committed (SMS/push to the webhook with the userId only).
   */
  @Mutation(() => [NotificationType], {
    description:
      "ADMIN: sends a message to each user, skipping those who switched the channel off (and, for marketing, those who did not opt in)",
  })
  async sendNotification(
    @Arg("input", () => SendNotificationInput) input: SendNotificationInput,
    @Ctx() ctx: NotificationContext,
  ): Promise<Notification[]> {
    const { userIds, channel, title, body, marketing } = validateInput(sendNotificationSchema, input);
    const kind = marketing ? MARKETING_KIND : ADMIN_MESSAGE_KIND;
    const ids = [...new Set(userIds.map((id) => id.toLowerCase()))];
    const recipients = new Map(
      (await ctx.em.find(Recipient, { userId: { $in: ids } })).map((r) => [r.userId, r] as const),
    );
    // Known here means registered and not erased: this subgraph's own copy of its recipients.
    const unknown = userIds.findIndex((id) => !recipients.has(id.toLowerCase()));
    if (unknown >= 0)
      throw badUserInput(`input.userIds.${unknown}`, `input.userIds.${unknown}: unknown user`);

    const settings = await channelSettings(ctx.em, ids);
    const consented = marketing ? await marketingConsents(ctx.em, ids) : null;
    const recorded = await ctx.em.transactional(async (em) =>
      ids
        .filter((userId) => consented === null || consented.has(userId))
        .filter((userId) => allowed(settings.get(userId), kind, channel))
        .flatMap((userId) =>
          recordDeliveries(
            em,
            {
              userId,
              kind,
              title,
              body,
              mail: adminMessageMail(
                recipients.get(userId)!.email,
                title,
                body,
                recipients.get(userId)!.locale,
                marketing ? { appUrl: ctx.deps.appUrl } : undefined,
              ),
              sourceEventId: null,
            },
            [channel],
            ctx.deps.webhookChannels,
          ),
        ),
    );
    ctx.deps.dispatcher.dispatchAll(dispatchIds(recorded));
    return recorded;
  }
}

import { consumer, on, type ConsumerContext } from "../../../platform/events/consumer";
import { markErased, userErased } from "../../../platform/events/erasure";
import type { ConsumerServices } from "../../../platform/subgraph";
import {
  EmailVerificationRequested,
  PasswordChanged,
  PasswordResetRequested,
  SecurityAlert,
  UserDeleted,
  UserRegistered,
} from "../../auth/events/auth.events";
import { ErasureCompleted } from "../../../platform/events/privacy.events";
import { ProfileUpdated } from "../../user/events/user.events";
import { Recipient } from "../entities/recipient.entity";
import { Notification, NotificationChannel } from "../entities/notification.entity";
import { NotificationPreference } from "../entities/notification-preference.entity";
import type { NotificationDeps } from "../resolvers/context";
import {
  emailVerificationMessage,
  newDeviceMessage,
  passwordChangedMessage,
  passwordResetMessage,
  type AccountMessage,
} from "../services/account-messages";
import { welcomeMessage } from "../services/welcome-message";
import { emailIds, recordDeliveries } from "../services/deliveries";
import { allowed, channelSettings, SECURITY_KINDS } from "../services/preferences";

/**
 * A registration gets a welcome in the inbox and by e-mail; account events (reset, verification,
 * password changed) get their e-mail. Each delivery is recorded once per event and channel.
 */
export function notificationSubscriptions({ deps }: ConsumerServices<NotificationDeps>) {
  /**
   * Records the deliveries in the handler's transaction (with its inbox row), then sends the
   * e-mail after the commit and records the outcome. A redelivered event is already in the inbox:
   * nothing is recorded or sent twice.
   */
  async function deliver(userId: string, message: AccountMessage, ctx: ConsumerContext, inApp: boolean) {
    if (await userErased(ctx.em, userId)) return;
    const wanted = inApp
      ? [NotificationChannel.IN_APP, NotificationChannel.EMAIL]
      : [NotificationChannel.EMAIL];
    // Security messages skip the lookup: they go out whatever the preferences say.
    const settings = SECURITY_KINDS.has(message.kind)
      ? undefined
      : (await channelSettings(ctx.em, [userId])).get(userId);
    const channels = wanted.filter((channel) => allowed(settings, message.kind, channel));
    const recorded = recordDeliveries(ctx.em, { userId, ...message, sourceEventId: ctx.event.id }, channels);
    // Sent once the delivery is committed; a failure or a crash leaves it PENDING for the sweep.
    for (const id of emailIds(recorded)) ctx.afterCommit(() => deps.dispatcher.dispatch(id));
  }

  return [
    consumer("notification.welcome", [
      on(UserRegistered, async (payload, ctx) => {
        const message = welcomeMessage(payload);
        await deliver(
          payload.userId,
          { kind: "welcome", title: message.title, body: message.body, mail: message },
          ctx,
          true,
        );
      }),
    ]),
    consumer("notification.recipients", [
      on(UserRegistered, async (payload, { em }) => {
        if (await userErased(em, payload.userId)) return;
        const recipient = Object.assign(new Recipient(), {
          userId: payload.userId,
          email: payload.email,
          displayName: payload.displayName,
          locale: payload.locale,
        });
        await em.upsert(Recipient, recipient, { onConflictFields: ["userId"], onConflictAction: "ignore" });
      }),
      on(ProfileUpdated, async (payload, { em }) => {
        await em.nativeUpdate(
          Recipient,
          { userId: payload.userId },
          {
            displayName: payload.displayName,
            locale: payload.locale,
            timezone: payload.timezone,
            updatedAt: new Date(),
          },
        );
      }),
      on(UserDeleted, async ({ userId }, { em, emit }) => {
        await markErased(em, userId);
        const notifications = await em.nativeDelete(Notification, { userId });
        const recipients = await em.nativeDelete(Recipient, { userId });
        const preferences = await em.nativeDelete(NotificationPreference, { userId });
        emit(ErasureCompleted, {
          userId,
          subgraph: "notification",
          erasedRecords: notifications + recipients + preferences,
        });
      }),
    ]),
    consumer("notification.account-mail", [
      on(PasswordResetRequested, (payload, ctx) =>
        deliver(
          payload.userId,
          passwordResetMessage(deps.appUrl, payload.email, payload.token, payload.expiresAt),
          ctx,
          false,
        ),
      ),
      on(EmailVerificationRequested, (payload, ctx) =>
        deliver(
          payload.userId,
          emailVerificationMessage(deps.appUrl, payload.email, payload.token, payload.expiresAt),
          ctx,
          false,
        ),
      ),
      on(SecurityAlert, (payload, ctx) =>
        deliver(
          payload.userId,
          newDeviceMessage(payload.email, payload.userAgent, payload.ipAddress),
          ctx,
          true,
        ),
      ),
      on(PasswordChanged, (payload, ctx) =>
        deliver(payload.userId, passwordChangedMessage(payload.email, payload.reason), ctx, true),
      ),
    ]),
  ];
}

import {
  EmailVerificationRequested,
  PasswordChanged,
  PasswordResetRequested,
  SecurityAlert,
  UserDeleted,
  UserRegistered,
} from "../../../contracts/events/auth";
import { ErasureCompleted } from "../../../contracts/events/privacy";
import { MarketingConsentChanged, ProfileUpdated } from "../../../contracts/events/user";
import { consumer, type ConsumerContext, on } from "../../../platform/events/consumer";
import { markErased, userErased } from "../../../platform/events/erasure";
import type { ConsumerServices } from "../../../platform/subgraph";
import { MarketingConsent } from "../entities/marketing-consent.entity";
import { Notification, NotificationChannel } from "../entities/notification.entity";
import { NotificationPreference } from "../entities/notification-preference.entity";
import { Recipient } from "../entities/recipient.entity";
import type { NotificationDeps } from "../resolvers/context";
import { dispatchIds, recordDeliveries } from "../services/deliveries";
import {
  type AccountMessage,
  type Addressee,
  newDeviceMessage,
  passwordChangedMessage,
  tokenLinkMessage,
  welcomeMessage,
} from "../services/messages";
import { allowed, channelSettings, recordMarketingConsent, SECURITY_KINDS } from "../services/preferences";

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
    const recorded = recordDeliveries(
      ctx.em,
      { userId, ...message, sourceEventId: ctx.event.id },
      channels,
      deps.webhookChannels,
    );
    // Sent once the delivery is committed; a failure or a crash leaves it PENDING for the sweep.
    for (const id of dispatchIds(recorded)) ctx.afterCommit(async () => deps.dispatcher.enqueue(id));
  }

  /**
   * Who gets the e-mail, in the locale this subgraph knows them by (read in the handler's
   * transaction); without a recipient row yet, the event's own locale, else English.
   */
  async function addressee(
    ctx: ConsumerContext,
    userId: string,
    to: string,
    locale?: string,
  ): Promise<Addressee> {
    const recipient = await ctx.em.findOne(Recipient, { userId });
    return { to, locale: recipient?.locale ?? locale ?? "en", displayName: recipient?.displayName ?? null };
  }

  return [
    consumer("notification.welcome", [
      on(UserRegistered, async (payload, ctx) => {
        const { locale } = await addressee(ctx, payload.userId, payload.email, payload.locale);
        await deliver(payload.userId, welcomeMessage({ ...payload, locale }), ctx, true);
      }),
    ]),
    consumer("notification.recipients", [
      on(UserRegistered, async (payload, { em, event }) => {
        if (await userErased(em, payload.userId)) return;
        const recipient = Object.assign(new Recipient(), {
          userId: payload.userId,
          email: payload.email,
          displayName: payload.displayName,
          locale: payload.locale,
          updatedAt: new Date(event.occurredAt),
        });
        await em.upsert(Recipient, recipient, { onConflictFields: ["userId"], onConflictAction: "ignore" });
      }),
      // Applied only over an older snapshot (by revision; by event time for events without one),
      // so reordered updates keep the newest. A profile change can overtake the registration
      // (another queue): failing sends it back for a retry, by when the recipient exists.
      on(ProfileUpdated, async (payload, { em, event }) => {
        if (await userErased(em, payload.userId)) return;
        const occurredAt = new Date(event.occurredAt);
        const { revision } = payload;
        const updated = await em.nativeUpdate(
          Recipient,
          revision === undefined
            ? { userId: payload.userId, updatedAt: { $lt: occurredAt } }
            : { userId: payload.userId, profileRevision: { $lt: revision } },
          {
            displayName: payload.displayName,
            locale: payload.locale,
            timezone: payload.timezone,
            updatedAt: occurredAt,
            ...(revision === undefined ? {} : { profileRevision: revision }),
          },
        );
        if (updated === 0 && (await em.count(Recipient, { userId: payload.userId })) === 0)
          throw new Error(`recipient ${payload.userId} not known yet: profile update retried later`);
      }),
      // Kept apart from the recipient row, so a choice heard before the registration is not lost.
      on(MarketingConsentChanged, async (payload, { em }) => {
        if (await userErased(em, payload.userId)) return;
        await recordMarketingConsent(em, { ...payload, changedAt: new Date(payload.changedAt) });
      }),
      on(UserDeleted, async ({ userId }, { em, emit }) => {
        await markErased(em, userId);
        const notifications = await em.nativeDelete(Notification, { userId });
        const recipients = await em.nativeDelete(Recipient, { userId });
        const preferences = await em.nativeDelete(NotificationPreference, { userId });
        const consents = await em.nativeDelete(MarketingConsent, { userId });
        emit(ErasureCompleted, {
          userId,
          subgraph: "notification",
          erasedRecords: notifications + recipients + preferences + consents,
        });
      }),
    ]),
    consumer("notification.account-mail", [
      on(PasswordResetRequested, async (payload, ctx) => {
        const to = await addressee(ctx, payload.userId, payload.email);
        const message = tokenLinkMessage("password-reset", deps.appUrl, to, payload.token, payload.expiresAt);
        await deliver(payload.userId, message, ctx, false);
      }),
      on(EmailVerificationRequested, async (payload, ctx) => {
        const to = await addressee(ctx, payload.userId, payload.email);
        const message = tokenLinkMessage("verify-email", deps.appUrl, to, payload.token, payload.expiresAt);
        await deliver(payload.userId, message, ctx, false);
      }),
      on(SecurityAlert, async (payload, ctx) => {
        const to = await addressee(ctx, payload.userId, payload.email);
        await deliver(payload.userId, newDeviceMessage(to, payload.userAgent, payload.ipAddress), ctx, true);
      }),
      on(PasswordChanged, async (payload, ctx) => {
        const to = await addressee(ctx, payload.userId, payload.email);
        await deliver(payload.userId, passwordChangedMessage(to, payload.reason), ctx, true);
      }),
    ]),
  ];
}

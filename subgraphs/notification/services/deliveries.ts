import type { EntityManager } from "@mikro-orm/postgresql";

import { DeliveryStatus, Notification, NotificationChannel } from "../entities/notification.entity";
import { PendingMail } from "../entities/pending-mail.entity";
import type { MailMessage } from "./mailer";

/** What SMS and push deliveries record when their channel has no provider: they wait, PENDING, with the reason. */
export const NO_PROVIDER = "no provider configured";

export interface Delivery {
  userId: string;
  kind: string;
  /** What the inbox and the delivery record keep: never a link carrying a secret. */
  title: string;
  body: string;
  /** The rendered e-mail; required when EMAIL is among the channels. */
  mail: MailMessage | null;
  /** The event this answers: (sourceEventId, channel) is unique, so a redelivery records nothing twice. */
  sourceEventId: string | null;
}

/**
 * Records one message on each channel in `em`'s unit of work: in-app is delivered at once; an
 * e-mail waits PENDING with its rendered mail, SMS and push PENDING for their webhook provider,
 * until the DeliveryDispatcher sends them (call `dispatch` with `dispatchIds` once committed). SMS
 * and push on a channel without a provider (not in `webhookChannels`) wait PENDING with NO_PROVIDER.
 */
export function recordDeliveries(
  em: EntityManager,
  delivery: Delivery,
  channels: readonly NotificationChannel[],
  webhookChannels: ReadonlySet<NotificationChannel> = new Set(),
): Notification[] {
  return channels.map((channel) => {
    const notification = Object.assign(new Notification(), {
      userId: delivery.userId,
      channel,
      kind: delivery.kind,
      title: delivery.title,
      body: delivery.body,
      sourceEventId: delivery.sourceEventId,
      status: channel === NotificationChannel.IN_APP ? DeliveryStatus.DELIVERED : DeliveryStatus.PENDING,
      lastError:
        (channel === NotificationChannel.SMS || channel === NotificationChannel.PUSH) &&
        !webhookChannels.has(channel)
          ? NO_PROVIDER
          : null,
    });
    em.persist(notification);
    if (channel === NotificationChannel.EMAIL) {
      if (!delivery.mail) throw new Error(`an e-mail delivery of ${delivery.kind} needs its mail`);
      em.persist(Object.assign(new PendingMail(), { notificationId: notification.id, ...delivery.mail }));
    }
    return notification;
  });
}

/** The ids of the recorded deliveries the dispatcher sends (it skips channels without a provider). */
export const dispatchIds = (notifications: readonly Notification[]) =>
  notifications.filter((n) => n.status === DeliveryStatus.PENDING && n.lastError === null).map((n) => n.id);

/** The ids of the recorded e-mails. */
export const emailIds = (notifications: readonly Notification[]) =>
  notifications.filter((n) => n.channel === NotificationChannel.EMAIL).map((n) => n.id);

import { UniqueConstraintViolationException } from "@mikro-orm/core";
import type { EventEnvelope } from "../../../platform/events/event-bus";
import { handle, subscription } from "../../../platform/events/event-bus";
import type { ConsumerServices } from "../../../platform/subgraph";
import {
  EmailVerificationRequested,
  PasswordChanged,
  PasswordResetRequested,
  UserRegistered,
} from "../../auth/events/auth.events";
import { DeliveryStatus, Notification, NotificationChannel } from "../entities/notification.entity";
import type { NotificationDeps } from "../resolvers/context";
import {
  emailVerificationMessage,
  passwordChangedMessage,
  passwordResetMessage,
  type AccountMessage,
} from "../services/account-messages";
import { welcomeMessage } from "../services/welcome-message";

/**
 * A registration gets a welcome in the inbox and by e-mail; account events (reset, verification,
 * password changed) get their e-mail. Each delivery is recorded once per event and channel.
 */
export function notificationSubscriptions({ db, deps, logger }: ConsumerServices<NotificationDeps>) {
  /** Records the deliveries, then sends the e-mail; a redelivered event finds them recorded and sends nothing. */
  async function deliver(userId: string, message: AccountMessage, event: EventEnvelope, inApp: boolean) {
    const em = db.orm.em.fork();
    const record = (channel: NotificationChannel, status: DeliveryStatus) =>
      Object.assign(new Notification(), {
        userId,
        channel,
        kind: message.kind,
        title: message.title,
        body: message.body,
        status,
        sourceEventId: event.id,
      });
    const email = record(NotificationChannel.EMAIL, DeliveryStatus.PENDING);
    const rows = inApp ? [record(NotificationChannel.IN_APP, DeliveryStatus.DELIVERED), email] : [email];
    try {
      await em.persistAndFlush(rows);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) return; // already handled: a redelivery
      throw error;
    }
    try {
      await deps.mailer.send(message.mail);
      email.status = DeliveryStatus.SENT;
    } catch (error) {
      // Kept as FAILED with its reason; retries with backoff come with the notification issue.
      email.status = DeliveryStatus.FAILED;
      email.lastError = error instanceof Error ? error.message : String(error);
      logger.warn({ err: error, notificationId: email.id, kind: message.kind }, "e-mail failed");
    }
    await em.flush();
  }

  return [
    subscription("notification.welcome", [
      handle(UserRegistered, async (payload, event) => {
        const message = welcomeMessage(payload);
        await deliver(
          payload.userId,
          { kind: "welcome", title: message.title, body: message.body, mail: message },
          event,
          true,
        );
      }),
    ]),
    subscription("notification.account-mail", [
      handle(PasswordResetRequested, (payload, event) =>
        deliver(
          payload.userId,
          passwordResetMessage(deps.appUrl, payload.email, payload.token, payload.expiresAt),
          event,
          false,
        ),
      ),
      handle(EmailVerificationRequested, (payload, event) =>
        deliver(
          payload.userId,
          emailVerificationMessage(deps.appUrl, payload.email, payload.token, payload.expiresAt),
          event,
          false,
        ),
      ),
      handle(PasswordChanged, (payload, event) =>
        deliver(payload.userId, passwordChangedMessage(payload.email, payload.reason), event, true),
      ),
    ]),
  ];
}

import { UniqueConstraintViolationException } from "@mikro-orm/core";
import { handle, subscription } from "../../../platform/events/event-bus";
import type { ConsumerServices } from "../../../platform/subgraph";
import { UserRegistered } from "../../auth/events/auth.events";
import { DeliveryStatus, Notification, NotificationChannel } from "../entities/notification.entity";
import type { NotificationDeps } from "../resolvers/context";
import { welcomeMessage } from "../services/welcome-message";

/** A registration gets a welcome in the inbox and by e-mail. Each is recorded once per event. */
export function notificationSubscriptions({ db, deps, logger }: ConsumerServices<NotificationDeps>) {
  return [
    subscription("notification.welcome", [
      handle(UserRegistered, async (payload, event) => {
        const message = welcomeMessage(payload);
        const em = db.orm.em.fork();
        const inApp = Object.assign(new Notification(), {
          userId: payload.userId,
          channel: NotificationChannel.IN_APP,
          kind: "welcome",
          title: message.title,
          body: message.body,
          status: DeliveryStatus.DELIVERED,
          sourceEventId: event.id,
        });
        const email = Object.assign(new Notification(), {
          userId: payload.userId,
          channel: NotificationChannel.EMAIL,
          kind: "welcome",
          title: message.title,
          body: message.body,
          sourceEventId: event.id,
        });
        try {
          await em.persistAndFlush([inApp, email]);
        } catch (error) {
          if (error instanceof UniqueConstraintViolationException) return; // already handled: a redelivery
          throw error;
        }
        try {
          await deps.mailer.send(message);
          email.status = DeliveryStatus.SENT;
        } catch (error) {
          // Kept as FAILED with its reason; retries with backoff come with the notification issue.
          email.status = DeliveryStatus.FAILED;
          email.lastError = error instanceof Error ? error.message : String(error);
          logger.warn({ err: error, notificationId: email.id }, "welcome e-mail failed");
        }
        await em.flush();
      }),
    ]),
  ];
}

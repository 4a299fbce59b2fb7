import { ErasureCompleted } from "../../platform/events/privacy.events";
import type { SubgraphDefinition } from "../../platform/subgraph";
import { Notification } from "./entities/notification.entity";
import { NotificationPreference } from "./entities/notification-preference.entity";
import { PendingMail } from "./entities/pending-mail.entity";
import { Recipient } from "./entities/recipient.entity";
import { MailDispatcher, type DispatchPolicy } from "./services/mail-dispatcher";
import { notificationSubscriptions } from "./events/notification.consumers";
import { notificationMigrations } from "./migrations";
import {
  createNotificationLoaders,
  type NotificationDeps,
  type NotificationLoaders,
} from "./resolvers/context";
import { buildNotificationSchema } from "./schema";
import { createMailer, type MailSettings } from "./services/mailer";

export type NotificationSettings = MailSettings & { appUrl: string; dispatch?: DispatchPolicy };

export const notificationSubgraph: SubgraphDefinition<
  NotificationSettings,
  NotificationDeps,
  NotificationLoaders,
  "notification"
> = {
  name: "notification",
  entities: [Notification, Recipient, PendingMail, NotificationPreference],
  migrations: notificationMigrations,
  publishes: [ErasureCompleted],
  buildSchema: buildNotificationSchema,
  settingsFromEnv: (env) => ({ smtpUrl: env.SMTP_URL, from: env.MAIL_FROM, appUrl: env.PUBLIC_APP_URL }),
  createDependencies: ({ settings, logger }, db) => {
    const mailer = createMailer(settings);
    const dispatcher = new MailDispatcher(db, mailer, logger.child({ component: "mail" }), settings.dispatch);
    dispatcher.start();
    return { mailer, dispatcher, appUrl: settings.appUrl };
  },
  createLoaders: (em) => createNotificationLoaders(em),
  subscriptions: notificationSubscriptions,
  dispose: async (deps) => {
    await deps.dispatcher.stop();
    deps.mailer.close();
  },
};

import { ErasureCompleted } from "../../platform/events/privacy.events";
import type { SubgraphDefinition } from "../../platform/subgraph";
import { Notification } from "./entities/notification.entity";
import { Recipient } from "./entities/recipient.entity";
import { notificationSubscriptions } from "./events/notification.consumers";
import { notificationMigrations } from "./migrations";
import {
  createNotificationLoaders,
  type NotificationDeps,
  type NotificationLoaders,
} from "./resolvers/context";
import { buildNotificationSchema } from "./schema";
import { createMailer, type MailSettings } from "./services/mailer";

export type NotificationSettings = MailSettings & { appUrl: string };

export const notificationSubgraph: SubgraphDefinition<
  NotificationSettings,
  NotificationDeps,
  NotificationLoaders,
  "notification"
> = {
  name: "notification",
  entities: [Notification, Recipient],
  migrations: notificationMigrations,
  publishes: [ErasureCompleted],
  buildSchema: buildNotificationSchema,
  settingsFromEnv: (env) => ({ smtpUrl: env.SMTP_URL, from: env.MAIL_FROM, appUrl: env.PUBLIC_APP_URL }),
  createDependencies: ({ settings }) => ({ mailer: createMailer(settings), appUrl: settings.appUrl }),
  createLoaders: (em) => createNotificationLoaders(em),
  subscriptions: notificationSubscriptions,
  dispose: (deps) => deps.mailer.close(),
};

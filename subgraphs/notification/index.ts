import type { SubgraphDefinition } from "../../platform/subgraph";
import { Notification } from "./entities/notification.entity";
import { notificationSubscriptions } from "./events/notification.consumers";
import { notificationMigrations } from "./migrations";
import {
  createNotificationLoaders,
  type NotificationDeps,
  type NotificationLoaders,
} from "./resolvers/context";
import { buildNotificationSchema } from "./schema";
import { createMailer, type MailSettings } from "./services/mailer";

export const notificationSubgraph: SubgraphDefinition<
  MailSettings,
  NotificationDeps,
  NotificationLoaders,
  "notification"
> = {
  name: "notification",
  entities: [Notification],
  migrations: notificationMigrations,
  buildSchema: buildNotificationSchema,
  settingsFromEnv: (env) => ({ smtpUrl: env.SMTP_URL, from: env.MAIL_FROM }),
  createDependencies: (runtime) => ({ mailer: createMailer(runtime.settings) }),
  createLoaders: (em) => createNotificationLoaders(em),
  subscriptions: notificationSubscriptions,
  dispose: (deps) => deps.mailer.close(),
};

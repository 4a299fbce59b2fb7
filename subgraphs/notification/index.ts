import path from "node:path";

import { ErasureCompleted } from "../../contracts/events/privacy";
import type { SubgraphDefinition } from "../../platform/subgraph";
import { MarketingConsent } from "./entities/marketing-consent.entity";
import { Notification } from "./entities/notification.entity";
import { NotificationPreference } from "./entities/notification-preference.entity";
import { PendingMail } from "./entities/pending-mail.entity";
import { Recipient } from "./entities/recipient.entity";
import { notificationSubscriptions } from "./events/notification.consumers";
import { notificationMigrations } from "./migrations";
import {
  createNotificationLoaders,
  type NotificationDeps,
  type NotificationLoaders,
} from "./resolvers/context";
import { buildNotificationSchema } from "./schema";
import { DeliveryDispatcher } from "./services/mail-dispatcher";
import { createMailer } from "./services/mailer";
import { createWebhookProvider } from "./services/webhooks";
import { type NotificationOverrides, type NotificationSettings, notificationSettings } from "./settings";

export const notificationSubgraph: SubgraphDefinition<
  NotificationSettings,
  NotificationDeps,
  NotificationLoaders,
  "notification",
  NotificationOverrides
> = {
  name: "notification",
  entities: [Notification, Recipient, PendingMail, NotificationPreference, MarketingConsent],
  migrations: notificationMigrations,
  publishes: [ErasureCompleted],
  buildSchema: buildNotificationSchema,
  settings: notificationSettings,
  createDependencies: ({ settings, logger }, db) => {
    const mailer = createMailer(settings);
    const webhooks = createWebhookProvider({
      urls: {},
      ...settings.webhooks,
      outboxDir:
        settings.webhooks?.outboxDir ??
        ("outboxDir" in settings ? path.join(path.dirname(settings.outboxDir), "webhooks") : undefined),
    });
    const dispatcher = new DeliveryDispatcher(
      db,
      mailer,
      logger.child({ component: "delivery" }),
      settings.dispatch,
      webhooks,
    );
    dispatcher.start();
    return { mailer, dispatcher, webhookChannels: new Set(webhooks.channels), appUrl: settings.appUrl };
  },
  createLoaders: (em) => createNotificationLoaders(em),
  subscriptions: notificationSubscriptions,
  dispose: async (deps) => {
    await deps.dispatcher.stop();
    deps.mailer.close();
  },
};

import type { EntityManager } from "@mikro-orm/postgresql";
import DataLoader from "dataloader";

import { isUuid, uuidArray, uuidLoader } from "../../../platform/database/loaders";
import type { SubgraphContext } from "../../../platform/graphql/context";
import type { NotificationChannel } from "../entities/notification.entity";
import type { DeliveryDispatcher } from "../services/mail-dispatcher";
import type { Mailer } from "../services/mailer";
import {
  type NotificationPage,
  notificationPagesLoader,
  type PageRequest,
} from "../services/notification-pages";
import { allEnabled, type ChannelSettings, channelSettings } from "../services/preferences";

export interface NotificationDeps {
  mailer: Mailer;
  /** Sends recorded e-mail, SMS and push deliveries, retrying failures. */
  dispatcher: DeliveryDispatcher;
  /** SMS/push channels with a webhook provider (an endpoint or the embedded outbox). */
  webhookChannels: ReadonlySet<NotificationChannel>;
  /** Base of the links in e-mails. */
  appUrl: string;
}

export interface NotificationLoaders {
  pages: DataLoader<PageRequest, NotificationPage, string>;
  unreadCounts: DataLoader<string, number>;
  /** Each user's channel choices over the default (all enabled). */
  preferences: DataLoader<string, ChannelSettings>;
}

export type NotificationContext = SubgraphContext<NotificationLoaders, NotificationDeps>;

export function createNotificationLoaders(em: EntityManager): NotificationLoaders {
  return {
    pages: notificationPagesLoader(em),
    unreadCounts: uuidLoader(
      (ids) =>
        em
          .getConnection()
          .execute<{ user_id: string; unread: string }[]>(
            "select user_id, count(*) as unread from notifications where user_id = any(?::uuid[]) and read_at is null group by user_id",
            [uuidArray(ids)],
          ),
      (row) => row.user_id,
      () => 0,
      (row) => Number(row.unread),
    ),
    preferences: new DataLoader<string, ChannelSettings>(async (ids) => {
      const settings = await channelSettings(em, [
        ...new Set(ids.filter(isUuid).map((id) => id.toLowerCase())),
      ]);
      return ids.map((id) => settings.get(id.toLowerCase()) ?? allEnabled());
    }),
  };
}

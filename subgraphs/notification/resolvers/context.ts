import DataLoader from "dataloader";
import type { EntityManager } from "@mikro-orm/postgresql";
import { isUuid, uuidArray } from "../../../platform/database/loaders";
import type { SubgraphContext } from "../../../platform/graphql/context";
import type { Mailer } from "../services/mailer";
import { notificationPagesLoader, type NotificationPage, type PageRequest } from "./notification-pages";

export interface NotificationDeps {
  mailer: Mailer;
}

export interface NotificationLoaders {
  pages: DataLoader<PageRequest, NotificationPage, string>;
  unreadCounts: DataLoader<string, number>;
}

export type NotificationContext = SubgraphContext<NotificationLoaders, NotificationDeps>;

export function createNotificationLoaders(em: EntityManager): NotificationLoaders {
  return {
    pages: notificationPagesLoader(em),
    unreadCounts: new DataLoader<string, number>(async (userIds) => {
      const ids = [...new Set(userIds.filter(isUuid))];
      const rows: { user_id: string; unread: string }[] = ids.length
        ? await em
            .getConnection()
            .execute(
              "select user_id, count(*) as unread from notifications where user_id = any(?::uuid[]) and read_at is null group by user_id",
              [uuidArray(ids)],
            )
        : [];
      const counts = new Map(rows.map((row) => [row.user_id, Number(row.unread)]));
      return userIds.map((id) => counts.get(id) ?? 0);
    }),
  };
}

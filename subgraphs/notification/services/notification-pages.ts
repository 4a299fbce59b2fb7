import type { EntityManager } from "@mikro-orm/postgresql";
import DataLoader from "dataloader";

import { isUuid, uuidArray } from "../../../platform/database/loaders";
import type { Page, Position } from "../../../platform/graphql/page-info.type";
import { Notification } from "../entities/notification.entity";

export interface PageRequest {
  userId: string;
  first: number;
  /** The last row seen. */
  after: Position | null;
  unreadOnly: boolean;
}

export type NotificationPage = Page<Notification>;

/**
 * Inbox pages for many users in one query: a window function numbers each user's rows and counts
 * them, so a list of N users with their notifications costs one round trip, not N.
 */
export function notificationPagesLoader(
  em: EntityManager,
): DataLoader<PageRequest, NotificationPage, string> {
  return new DataLoader<PageRequest, NotificationPage, string>(
    async (requests) => {
      const groups = new Map<string, PageRequest[]>();
      for (const request of requests) {
        const key = JSON.stringify([request.first, request.after, request.unreadOnly]);
        groups.set(key, [...(groups.get(key) ?? []), request]);
      }
      const pages = new Map<PageRequest, NotificationPage>();
      for (const group of groups.values()) {
        const { first, after, unreadOnly } = group[0]!;
        const userIds = [...new Set(group.map((r) => r.userId).filter(isUuid))];
        const rows: (Record<string, unknown> & { total_count: string; user_id: string })[] = userIds.length
          ? await em.getConnection().execute(
              `with base as (
                 select n.*, count(*) over (partition by n.user_id) as total_count
                 from notifications n
                 where n.user_id = any(?::uuid[]) and (not ?::boolean or n.read_at is null)
               ), page as (
                 select base.*, row_number() over (partition by user_id order by created_at desc, id desc) as position
                 from base
                 where ?::timestamptz is null or (created_at, id) < (?::timestamptz, ?::uuid)
               )
               select * from page where position <= ? order by user_id, position`,
              [
                uuidArray(userIds),
                unreadOnly,
                after?.createdAt ?? null,
                after?.createdAt ?? null,
                after?.id ?? null,
                first + 1,
              ],
            )
          : [];
        const byUser = new Map<string, typeof rows>();
        for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row]);
        for (const request of group) {
          const own = byUser.get(request.userId) ?? [];
          pages.set(request, {
            rows: own.slice(0, first).map((row) => em.map(Notification, row)),
            hasNextPage: own.length > first,
            totalCount: own.length
              ? Number(own[0]!.total_count)
              : await countWithoutPage(em, request, after !== null),
          });
        }
      }
      return requests.map((request) => pages.get(request)!);
    },
    { cacheKeyFn: (request) => JSON.stringify(request) },
  );
}

/** Past the last page the window holds no row to read the total from; only then is it counted apart. */
async function countWithoutPage(em: EntityManager, request: PageRequest, paged: boolean): Promise<number> {
  if (!paged || !isUuid(request.userId)) return 0;
  return em.count(Notification, { userId: request.userId, ...(request.unreadOnly ? { readAt: null } : {}) });
}

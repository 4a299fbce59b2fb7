import DataLoader from "dataloader";
import type { EntityManager } from "@mikro-orm/postgresql";
import { isUuid, uuidArray } from "../../../platform/database/loaders";
import type { SubgraphContext } from "../../../platform/graphql/context";
import type { UserActivity } from "./activity.type";

export type AnalyticsDeps = Record<string, never>;

export interface AnalyticsLoaders {
  activity: DataLoader<string, UserActivity>;
}

export type AnalyticsContext = SubgraphContext<AnalyticsLoaders, AnalyticsDeps>;

export function createAnalyticsLoaders(em: EntityManager): AnalyticsLoaders {
  return {
    activity: new DataLoader<string, UserActivity>(async (userIds) => {
      const ids = [...new Set(userIds.filter(isUuid))];
      const rows: { user_id: string; event_count: string; last_seen_at: Date | null }[] = ids.length
        ? await em
            .getConnection()
            .execute(
              "select user_id, count(*) as event_count, max(occurred_at) as last_seen_at from events where user_id = any(?::uuid[]) group by user_id",
              [uuidArray(ids)],
            )
        : [];
      const byUser = new Map(rows.map((row) => [row.user_id, row]));
      return userIds.map((id) => {
        const row = byUser.get(id);
        return {
          eventCount: row ? Number(row.event_count) : 0,
          lastSeenAt: row?.last_seen_at ? new Date(row.last_seen_at) : null,
        };
      });
    }),
  };
}

import type DataLoader from "dataloader";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidArray, uuidLoader } from "../../../platform/database/loaders";
import type { SubgraphContext } from "../../../platform/graphql/context";
import type { UserActivity } from "./activity.type";

export type AnalyticsDeps = Record<string, never>;

export interface AnalyticsLoaders {
  activity: DataLoader<string, UserActivity>;
}

export type AnalyticsContext = SubgraphContext<AnalyticsLoaders, AnalyticsDeps>;

export function createAnalyticsLoaders(em: EntityManager): AnalyticsLoaders {
  return {
    activity: uuidLoader(
      (ids) =>
        em
          .getConnection()
          .execute<{ user_id: string; event_count: string; last_seen_at: Date | null }[]>(
            "select user_id, count(*) as event_count, max(occurred_at) as last_seen_at from events where user_id = any(?::uuid[]) group by user_id",
            [uuidArray(ids)],
          ),
      (row) => row.user_id,
      (): UserActivity => ({ eventCount: 0, lastSeenAt: null }),
      (row): UserActivity => ({
        eventCount: Number(row.event_count),
        lastSeenAt: row.last_seen_at ? new Date(row.last_seen_at) : null,
      }),
    ),
  };
}

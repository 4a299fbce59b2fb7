import type { EntityManager } from "@mikro-orm/postgresql";
import type DataLoader from "dataloader";

import { uuidArray, uuidLoader } from "../../../platform/database/loaders";
import type { SubgraphContext } from "../../../platform/graphql/context";
import type { EventIngester } from "../services/ingester";
import type { RetentionSweeper } from "../services/retention";
import type { UserActivity } from "./activity.type";

export interface AnalyticsDeps {
  /** Writes tracked events in shared transactions (group commit). */
  ingester: EventIngester;
  /** Deletes raw events past their retention age. */
  retention: RetentionSweeper;
}

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
            "select user_id, event_count, last_seen_at from user_totals where user_id = any(?::uuid[])",
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

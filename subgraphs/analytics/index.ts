import { ErasureCompleted } from "../../contracts/events/privacy";
import type { SubgraphDefinition } from "../../platform/subgraph";
import { DailyActiveUsers } from "./entities/daily-active-users.entity";
import { EventCountHourly } from "./entities/event-count-hourly.entity";
import { TrackedEvent } from "./entities/tracked-event.entity";
import { UserActivityDays } from "./entities/user-activity-days.entity";
import { UserTotals } from "./entities/user-totals.entity";
import { analyticsSubscriptions } from "./events/analytics.consumers";
import { analyticsMigrations } from "./migrations";
import { type AnalyticsDeps, type AnalyticsLoaders, createAnalyticsLoaders } from "./resolvers/context";
import { buildAnalyticsSchema } from "./schema";
import { EventIngester } from "./services/ingester";
import { RetentionSweeper } from "./services/retention";
import { type AnalyticsSettings, analyticsSettings } from "./settings";

export const analyticsSubgraph: SubgraphDefinition<
  AnalyticsSettings,
  AnalyticsDeps,
  AnalyticsLoaders,
  "analytics"
> = {
  name: "analytics",
  entities: [TrackedEvent, EventCountHourly, UserActivityDays, DailyActiveUsers, UserTotals],
  migrations: analyticsMigrations,
  publishes: [ErasureCompleted],
  buildSchema: buildAnalyticsSchema,
  settings: analyticsSettings,
  createDependencies: ({ settings, logger }, db) => {
    const retention = new RetentionSweeper(db, logger.child({ component: "retention" }), settings);
    retention.start();
    return { ingester: new EventIngester(db, logger.child({ component: "ingestion" })), retention };
  },
  dispose: async (deps) => {
    await deps.ingester.flush();
    await deps.retention.stop();
  },
  createLoaders: (em) => createAnalyticsLoaders(em),
  subscriptions: analyticsSubscriptions,
};

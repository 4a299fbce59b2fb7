import { ErasureCompleted } from "../../platform/events/privacy.events";
import type { SubgraphDefinition } from "../../platform/subgraph";
import { EventCountHourly, UserActivityDaily } from "./entities/rollups.entity";
import { TrackedEvent } from "./entities/tracked-event.entity";
import { analyticsSubscriptions } from "./events/analytics.consumers";
import { analyticsMigrations } from "./migrations";
import { createAnalyticsLoaders, type AnalyticsDeps, type AnalyticsLoaders } from "./resolvers/context";
import { buildAnalyticsSchema } from "./schema";

export const analyticsSubgraph: SubgraphDefinition<
  Record<string, never>,
  AnalyticsDeps,
  AnalyticsLoaders,
  "analytics"
> = {
  name: "analytics",
  entities: [TrackedEvent, EventCountHourly, UserActivityDaily],
  migrations: analyticsMigrations,
  publishes: [ErasureCompleted],
  buildSchema: buildAnalyticsSchema,
  settingsFromEnv: () => ({}),
  createDependencies: () => ({}),
  createLoaders: (em) => createAnalyticsLoaders(em),
  subscriptions: analyticsSubscriptions,
};

import { z } from "zod";

import { type EnvOf, type SubgraphSettings, variable, type VariableCatalogue } from "../../platform/config";
import type { RetentionPolicy } from "./services/retention";

export type AnalyticsSettings = RetentionPolicy;

/** The variables only analytics reads. */
export const ANALYTICS_VARIABLES = {
  ANALYTICS_RETENTION_DAYS: variable(
    z.coerce.number().int().min(1).max(3650).default(180),
    "analytics: raw events older than this many days are deleted hourly (rollups and insights keep their counts)",
  ),
} satisfies VariableCatalogue;

export function analyticsSettingsFromEnv(env: EnvOf<typeof ANALYTICS_VARIABLES>): AnalyticsSettings {
  return { retentionDays: env.ANALYTICS_RETENTION_DAYS };
}

export const analyticsSettings: SubgraphSettings<AnalyticsSettings> = {
  variables: ANALYTICS_VARIABLES,
  platformVariables: [],
  fromEnv: analyticsSettingsFromEnv,
};

import type { SubgraphSettings } from "../../platform/config";

/** user reads nothing beyond what every subgraph reads. */
export type UserSettings = Record<string, never>;

export const USER_VARIABLES = {};

export function userSettingsFromEnv(): UserSettings {
  return {};
}

export const userSettings: SubgraphSettings<UserSettings> = {
  variables: USER_VARIABLES,
  platformVariables: [],
  fromEnv: userSettingsFromEnv,
};

import { ErasureCompleted } from "../../contracts/events/privacy";
import { MarketingConsentChanged, ProfileUpdated } from "../../contracts/events/user";
import type { SubgraphDefinition } from "../../platform/subgraph";
import { UserProfile } from "./entities/user-profile.entity";
import { userSubscriptions } from "./events/user.consumers";
import { userMigrations } from "./migrations";
import { createUserLoaders, type UserDeps, type UserLoaders } from "./resolvers/context";
import { buildUserSchema } from "./schema";
import { type UserSettings, userSettings } from "./settings";

export const userSubgraph: SubgraphDefinition<UserSettings, UserDeps, UserLoaders, "user"> = {
  name: "user",
  entities: [UserProfile],
  migrations: userMigrations,
  publishes: [ProfileUpdated, MarketingConsentChanged, ErasureCompleted],
  buildSchema: buildUserSchema,
  settings: userSettings,
  createDependencies: () => ({}),
  createLoaders: (em) => createUserLoaders(em),
  subscriptions: userSubscriptions,
};

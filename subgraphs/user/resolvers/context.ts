import type { EntityManager } from "@mikro-orm/postgresql";
import type DataLoader from "dataloader";

import { uuidLoader } from "../../../platform/database/loaders";
import type { SubgraphContext } from "../../../platform/graphql/context";
import { UserProfile } from "../entities/user-profile.entity";

export type UserDeps = Record<string, never>;

export interface UserLoaders {
  profiles: DataLoader<string, UserProfile | null>;
}

export type UserContext = SubgraphContext<UserLoaders, UserDeps>;

export function createUserLoaders(em: EntityManager): UserLoaders {
  return {
    profiles: uuidLoader(
      (ids) => em.find(UserProfile, { userId: { $in: ids } }),
      (profile) => profile.userId,
    ),
  };
}

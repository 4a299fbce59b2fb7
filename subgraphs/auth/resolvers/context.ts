import type { EntityManager } from "@mikro-orm/postgresql";
import type DataLoader from "dataloader";
import type { RateLimiterAbstract } from "rate-limiter-flexible";

import { uuidLoader } from "../../../platform/database/loaders";
import type { SubgraphContext } from "../../../platform/graphql/context";
import { UserAccount } from "../entities/user-account.entity";
import type { ApiKeyDirectory } from "../services/api-keys";
import type { LoginThrottle } from "../services/login-throttle";
import type { PasswordHasher } from "../services/passwords";
import type { SessionStore } from "../services/session-store";
import type { TokenIssuer } from "../services/token-issuer";

export interface AuthDeps {
  tokens: TokenIssuer;
  sessions: SessionStore;
  passwords: PasswordHasher;
  apiKeys: ApiKeyDirectory;
  loginThrottle: LoginThrottle;
  /** E-mails sent on request (reset, verification) per account: an inbox cannot be flooded. */
  mailRequests: RateLimiterAbstract;
  /** Addresses that become ADMIN once verified: how a fresh install gets its first ADMIN. */
  adminEmails: ReadonlySet<string>;
  /** Stops the loop that rewrites the API keys' lookup copies after the store lost them. */
  stopWatchingApiKeys: () => void;
}

export interface AuthLoaders {
  users: DataLoader<string, UserAccount | null>;
}

export type AuthContext = SubgraphContext<AuthLoaders, AuthDeps>;

export function createAuthLoaders(em: EntityManager): AuthLoaders {
  return {
    users: uuidLoader(
      (ids) => em.find(UserAccount, { id: { $in: ids } }),
      (user) => user.id,
    ),
  };
}

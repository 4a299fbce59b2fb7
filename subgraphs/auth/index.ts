import * as authEvents from "../../contracts/events/auth";
import type { SubgraphDefinition } from "../../platform/subgraph";
import { AccountErasure } from "./entities/account-erasure.entity";
import { AccountErasureStep } from "./entities/account-erasure-step.entity";
import { ApiKeyRecord } from "./entities/api-key-record.entity";
import { AuditEvent } from "./entities/audit-event.entity";
import { KnownDevice } from "./entities/known-device.entity";
import { OneTimeToken } from "./entities/one-time-token.entity";
import { UserAccount } from "./entities/user-account.entity";
import { authSubscriptions } from "./events/auth.consumers";
import { authMigrations } from "./migrations";
import { type AuthDeps, type AuthLoaders, createAuthLoaders } from "./resolvers/context";
import { normalizeEmail } from "./resolvers/credentials.input";
import { buildAuthSchema } from "./schema";
import { ApiKeyDirectory } from "./services/api-keys";
import { LoginThrottle } from "./services/login-throttle";
import { PasswordHasher } from "./services/passwords";
import { SessionStore } from "./services/session-store";
import { TokenIssuer } from "./services/token-issuer";
import { type AuthOverrides, type AuthSettings, authSettings } from "./settings";

export const authSubgraph: SubgraphDefinition<AuthSettings, AuthDeps, AuthLoaders, "auth", AuthOverrides> = {
  name: "auth",
  entities: [
    UserAccount,
    ApiKeyRecord,
    OneTimeToken,
    AuditEvent,
    AccountErasure,
    AccountErasureStep,
    KnownDevice,
  ],
  subscriptions: authSubscriptions,
  migrations: authMigrations,
  publishes: Object.values(authEvents),
  buildSchema: buildAuthSchema,
  settings: authSettings,
  createDependencies: async ({ settings, store, logger }, db) => {
    const apiKeys = new ApiKeyDirectory(store);
    const republish = () => {
      const em = db.orm.em.fork();
      return apiKeys.republishAll(
        em,
        async (userId) => (await em.findOne(UserAccount, { id: userId }))?.roles ?? [],
      );
    };
    logger.info({ apiKeys: await republish() }, "API key lookup copies written");
    return {
      stopWatchingApiKeys: apiKeys.watch(republish, logger),
      tokens: await TokenIssuer.create(settings),
      sessions: new SessionStore(store, settings.sessions),
      passwords: new PasswordHasher(settings.pepper, settings.bcryptCost),
      apiKeys,
      loginThrottle: new LoginThrottle(store, settings.loginLimits),
      mailRequests: store.rateLimiter({ name: "account-mail", ...settings.mailRequestLimit }),
      adminEmails: new Set(settings.adminEmails.map(normalizeEmail)),
    };
  },
  createLoaders: (em) => createAuthLoaders(em),
  dispose: (deps) => deps.stopWatchingApiKeys(),
  routes: (app, deps) => {
    app.get("/.well-known/jwks.json", (_req, res) => {
      res.set("cache-control", "public, max-age=300").json(deps.tokens.jwks());
    });
  },
};

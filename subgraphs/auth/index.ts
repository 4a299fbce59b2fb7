import type { SubgraphDefinition } from "../../platform/subgraph";
import { UserAccount } from "./entities/user-account.entity";
import { authMigrations } from "./migrations";
import { createAuthLoaders, type AuthDeps, type AuthLoaders } from "./resolvers/context";
import { buildAuthSchema } from "./schema";
import { SessionStore } from "./services/session-store";
import { TokenIssuer, type TokenSettings } from "./services/token-issuer";

export const authSubgraph: SubgraphDefinition<TokenSettings, AuthDeps, AuthLoaders, "auth"> = {
  name: "auth",
  entities: [UserAccount],
  migrations: authMigrations,
  buildSchema: buildAuthSchema,
  settingsFromEnv: (env) => ({
    signingKey: env.AUTH_SIGNING_KEY,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
  }),
  createDependencies: async (runtime) => ({
    tokens: await TokenIssuer.create(runtime.settings),
    sessions: new SessionStore(runtime.store),
  }),
  createLoaders: (em) => createAuthLoaders(em),
  routes: (app, deps) => {
    app.get("/.well-known/jwks.json", (_req, res) => {
      res.set("cache-control", "public, max-age=300").json(deps.tokens.jwks());
    });
  },
};

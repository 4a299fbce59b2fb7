import "reflect-metadata";

import { parseRouterEnv } from "../platform/config";
import { onShutdown, runMain } from "../platform/lifecycle";
import { createLogger } from "../platform/logger";
import { SUPERGRAPH_PATH } from "../platform/paths";
import { RedisKeyValueStore } from "../platform/store/redis-store";
import { resilienceFromEnv } from "./gateway";
import { rateLimitSettingsFromEnv } from "./rate-limit";
import { startRouter } from "./router";
import { usageSettingsFromEnv } from "./usage/usage-recorder";

/** The router alone, as a container runs it. */
export async function runRouterFromEnv(): Promise<void> {
  const env = parseRouterEnv();
  const logger = createLogger("router", env.LOG_LEVEL);
  const store = await RedisKeyValueStore.connect({
    url: env.REDIS_URL,
    prefix: env.REDIS_KEY_PREFIX,
    logger: logger.child({ component: "store" }),
  });
  const authUrl = env.AUTH_URL ?? "http://localhost:3001/graphql";
  const router = await startRouter({
    port: env.ROUTER_PORT,
    host: env.HOST,
    production: env.NODE_ENV === "production",
    logger,
    supergraphPath: env.SUPERGRAPH_PATH ?? SUPERGRAPH_PATH,
    ...resilienceFromEnv(env),
    subgraphUrls: {
      auth: env.AUTH_URL,
      user: env.USER_URL,
      notification: env.NOTIFICATION_URL,
      analytics: env.ANALYTICS_URL,
    },
    jwksUrl: env.AUTH_JWKS_URL ?? new URL("/.well-known/jwks.json", authUrl).toString(),
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    identityPrivateKey: env.IDENTITY_PRIVATE_KEY,
    corsOrigins: env.CORS_ORIGINS,
    trustedProxies: env.TRUSTED_PROXIES,
    bodyLimit: env.BODY_LIMIT,
    batchLimit: env.ROUTER_BATCH_LIMIT,
    store,
    rateLimit: rateLimitSettingsFromEnv(env),
    persistedOperations: { safelist: env.OPERATION_SAFELIST, ttlSeconds: env.PERSISTED_QUERIES_TTL },
    usage: usageSettingsFromEnv(env),
  });
  onShutdown(logger, async () => {
    await router.stop();
    await store.close();
  });
}

if (require.main === module) runMain(runRouterFromEnv);

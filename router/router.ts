import type { ApolloServerPlugin } from "@apollo/server";
import type { Request } from "express";
import { importPKCS8 } from "jose";

import type { SubgraphName } from "../platform/config";
import { requestError, unavailable } from "../platform/errors";
import { correlationIdFrom, REQUEST_ID_HEADER } from "../platform/http/correlation";
import { type RunningService, startHttpService } from "../platform/http/http-service";
import type { Logger } from "../platform/logger";
import { createMetrics } from "../platform/metrics";
import {
  IDEMPOTENCY_KEY_HEADER,
  isValidIdempotencyKey,
  REPLAYED_HEADER,
} from "../platform/requests/idempotency";
import type { KeyValueStore } from "../platform/store/key-value-store";
import {
  ABUSE_LIMITS,
  armorValidationRules,
  pageSizeCostPlugin,
  parseOptions,
  refuseOversizedRequests,
} from "./abuse-limits";
import type { RouterContext } from "./context";
import { CredentialVerifier } from "./credentials";
import { createGateway, type SubgraphResilience } from "./gateway";
import { corsPolicy, operationResolutionPlugin } from "./http-hygiene";
import { mountJwksRoute } from "./jwks-route";
import { type PersistedOperationsOptions, persistedOperationsPlugin } from "./persisted-operations";
import {
  DEFAULT_RATE_LIMITS,
  RATE_LIMIT_HEADERS,
  type RateLimitSettings,
  RouterRateLimiter,
} from "./rate-limit";
import { rateLimitPlugin } from "./rate-limit.plugin";
import { bodyReadStarts, callerOf, rateLimitGate, refusalNotesOf } from "./rate-limit-gate";
import { createRouterMetrics } from "./router-metrics";
import { usagePlugin } from "./usage/usage.plugin";
import { createUsageMetrics } from "./usage/usage-metrics";
import { DEFAULT_USAGE_SETTINGS, UsageRecorder, type UsageSettings } from "./usage/usage-recorder";

export interface RouterOptions {
  port: number;
  host: string;
  production: boolean;
  logger: Logger;
  /** The supergraph SDL to start from (default: read from `supergraphPath`). */
  supergraphSdl?: string;
  /** The supergraph file, watched: a valid change is applied without a restart, an invalid one logged. */
  supergraphPath?: string;
  /** How often the supergraph file is checked (default 1 s; 0: never). */
  supergraphPollIntervalMs?: number;
  /** Subgraph timeouts and circuit breakers (defaults: 10 s; DEFAULT_BREAKER in circuit-breaker.ts). */
  subgraphs?: SubgraphResilience;
  /** On stop, the longest wait for in-flight requests before their connections are cut (default 10 s). */
  drainTimeoutMs?: number;
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  jwksUrl: string;
  issuer: string;
  audience: string;
  identityPrivateKey: string;
  corsOrigins: string[];
  /** Proxies whose X-Forwarded-For is believed (default: loopback). */
  trustedProxies?: string[];
  bodyLimit: string;
  /** Most operations in one batched (JSON array) request; 0 (the default) turns batching off. */
  batchLimit?: number;
  /** Where sessions and API keys live (Redis; memory in embedded mode): checked on every credentialed request. */
  store: KeyValueStore;
  /** Request budgets per caller (decision 003); default: DEFAULT_RATE_LIMITS. */
  rateLimit?: RateLimitSettings;
  /** APQ in the store, and the optional operation safelist (router/persisted-operations.ts). */
  persistedOperations?: Pick<PersistedOperationsOptions, "ttlSeconds" | "safelist" | "manifestPath">;
  /** Which schema coordinates each client uses, counted into the store (decision 011); default: on, 30 days. */
  usage?: UsageSettings;
}

/** The edge: verifies who is calling, forwards it signed, plans and executes over the subgraphs. */
export async function startRouter(options: RouterOptions): Promise<RunningService> {
  const identityKey = await importPKCS8(options.identityPrivateKey, "EdDSA");
  const metrics = createMetrics("router");
  const routerMetrics = createRouterMetrics(metrics.registry);
  const rateLimiter = new RouterRateLimiter(
    options.store,
    options.rateLimit ?? DEFAULT_RATE_LIMITS,
    options.logger.child({ component: "rate-limit" }),
  );
  const usageSettings = options.usage ?? DEFAULT_USAGE_SETTINGS;
  const usage = usageSettings.enabled
    ? new UsageRecorder({
        store: options.store,
        settings: usageSettings,
        logger: options.logger.child({ component: "usage" }),
        metrics: (pending) => createUsageMetrics(metrics.registry, pending),
      })
    : undefined;
  const credentials = await CredentialVerifier.create({
    jwksUrl: options.jwksUrl,
    issuer: options.issuer,
    audience: options.audience,
    store: options.store,
    logger: options.logger,
    onFailure: routerMetrics.authFailure,
  });
  const verifyCaller = (req: Request) =>
    credentials.verify({ authorization: req.header("authorization"), apiKey: req.header("x-api-key") });
  const gateway = createGateway({
    supergraphSdl: options.supergraphSdl,
    supergraphPath: options.supergraphPath,
    supergraphPollIntervalMs: options.supergraphPollIntervalMs,
    subgraphUrls: options.subgraphUrls,
    subgraphs: options.subgraphs,
    identityKey,
    logger: options.logger,
    metrics: routerMetrics,
  });
  let loaded = false;
  gateway.onSchemaLoadOrUpdate(() => {
    loaded = true;
  });
  const service = await startHttpService<RouterContext>({
    name: "router",
    trustedProxies: options.trustedProxies,
    port: options.port,
    host: options.host,
    production: options.production,
    logger: options.logger,
    metrics,
    graphql: { gateway },
    sandbox: true,
    bodyLimit: options.bodyLimit,
    drainTimeoutMs: options.drainTimeoutMs,
    // The auth subgraph's key set, at the same path: verifiers need to reach only the router.
    routes: (app) => mountJwksRoute(app, { jwksUrl: options.jwksUrl, logger: options.logger }),
    graphqlMiddleware: [
      ...corsPolicy({
        origins: options.corsOrigins,
        production: options.production,
        exposedHeaders: [REQUEST_ID_HEADER, REPLAYED_HEADER, ...RATE_LIMIT_HEADERS],
      }),
      (req, res, next) => {
        res.setHeader(REQUEST_ID_HEADER, correlationIdFrom(req.headers[REQUEST_ID_HEADER]));
        next();
      },
      // Before anything reads the body: a caller over budget is refused here, at the cost of a lookup.
      rateLimitGate(rateLimiter, verifyCaller, routerMetrics),
    ],
    // Past the charset check (a refusal on headers alone costs less): from here the body is read.
    beforeBodyMiddleware: [bodyReadStarts],
    // Abuse limits (router/abuse-limits.ts): documents over them never reach planning or a subgraph.
    bodyMiddleware: [refuseOversizedRequests(ABUSE_LIMITS, options.batchLimit ?? 0)],
    parseOptions: parseOptions(ABUSE_LIMITS),
    validationRules: armorValidationRules(ABUSE_LIMITS),
    allowBatchedHttpRequests: (options.batchLimit ?? 0) > 0,
    plugins: [
      replayedAnswers,
      operationResolutionPlugin,
      pageSizeCostPlugin(ABUSE_LIMITS),
      refuseUnconfirmedMutations,
      rateLimitPlugin(rateLimiter, routerMetrics),
      persistedOperationsPlugin({
        ...options.persistedOperations,
        store: options.store,
        logger: options.logger.child({ component: "persisted-operations" }),
      }),
      ...(usage ? [usagePlugin(usage, options.logger.child({ component: "usage" }))] : []),
    ],
    context: async (req) => ({
      // Verified once, by the rate-limit gate (which needs to know who pays before the body is read).
      ...(await (callerOf(req) ?? verifyCaller(req))),
      refusals: refusalNotesOf(req),
      idempotencyKey: idempotencyKeyOf(req),
      correlationId: String(req.res?.getHeader(REQUEST_ID_HEADER) ?? correlationIdFrom(undefined)),
      // req.ip honours Express's `trust proxy` (loopback here): a client cannot claim another address.
      client: { ip: req.ip ?? null, userAgent: req.header("user-agent") ?? null },
    }),
    // Not the store: while Redis is out the router keeps serving reads (decision 002), so it stays ready.
    readiness: async () => ({ supergraph: loaded }),
  });
  return {
    ...service,
    stop: async () => {
      await service.stop();
      // After the last request has drained, before the caller closes the store.
      await usage?.stop();
      await credentials.close();
    },
  };
}

/**
 * Fail closed for writes: a token whose session could not be checked may read, but a mutation
 * (logout, password change, anything that changes state) waits until the session store answers.
 */
const refuseUnconfirmedMutations: ApolloServerPlugin<RouterContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ contextValue, operation }) {
        if (contextValue.unconfirmed && operation?.operation === "mutation")
          throw unavailable("Your session cannot be checked right now; retry shortly");
      },
    };
  },
};

/**
 * The client's Idempotency-Key (header, or `extensions.idempotencyKey` for clients that cannot set
 * headers), checked here so a malformed one is refused before anything runs.
 */
function idempotencyKeyOf(req: Request): string | undefined {
  const extensions = (req.body as { extensions?: { idempotencyKey?: unknown } } | undefined)?.extensions;
  const key = req.header(IDEMPOTENCY_KEY_HEADER) ?? extensions?.idempotencyKey;
  if (key === undefined) return undefined;
  if (typeof key !== "string" || !isValidIdempotencyKey(key))
    throw requestError(
      "BAD_USER_INPUT",
      "Idempotency-Key: 8 to 255 visible ASCII characters (a UUID is a good choice)",
      400,
    );
  return key;
}

/** `Idempotent-Replayed: true` on an answer that is a mutation's first outcome, returned again. */
const replayedAnswers: ApolloServerPlugin<RouterContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ contextValue, response }) {
        if (contextValue.idempotentReplay) response.http.headers.set(REPLAYED_HEADER, "true");
      },
    };
  },
};

import "reflect-metadata";

import { readFileSync } from "node:fs";
import path from "node:path";

import type { DestinationStream } from "pino";

import {
  DEFAULT_PORTS,
  parseEnv,
  RATE_LIMIT_VARIABLES,
  type ServiceName,
  SUBGRAPH_NAMES,
  type SubgraphName,
  USAGE_VARIABLES,
} from "../platform/config";
import { type EmbeddedCluster, startEmbeddedPostgres } from "../platform/database/embedded-postgres";
import type { EventBus } from "../platform/events/event-bus";
import { InProcessEventBus } from "../platform/events/in-process-bus";
import { RabbitMqEventBus } from "../platform/events/rabbitmq-bus";
import type { RunningService } from "../platform/http/http-service";
import { type KeyMaterial, loadOrCreateKeyMaterial } from "../platform/identity/keys";
import { createLogger, type Logger } from "../platform/logger";
import { SUPERGRAPH_PATH } from "../platform/paths";
import type { KeyValueStore } from "../platform/store/key-value-store";
import { MemoryKeyValueStore } from "../platform/store/memory-store";
import { RedisKeyValueStore } from "../platform/store/redis-store";
import { type RunningSubgraph, startSubgraph, type SubgraphRuntime } from "../platform/subgraph";
import { RESILIENCE_VARIABLES, resilienceFromEnv, type SubgraphResilience } from "../router/gateway";
import { type RateLimitSettings, rateLimitSettingsFromEnv } from "../router/rate-limit";
import { startRouter } from "../router/router";
import { type UsageSettings, usageSettingsFromEnv } from "../router/usage/usage-recorder";
import { parseConfig, settingsOf, type SettingsOverrides, SUBGRAPHS } from "../subgraphs";

type NotificationOverrides = NonNullable<SettingsOverrides["notification"]>;

export type Infrastructure =
  | {
      kind: "embedded";
      dataDir: string;
      /** The e-mails' sender (MAIL_FROM); its default otherwise. */
      mailFrom?: string;
    }
  | {
      kind: "services";
      databaseUrls: Record<SubgraphName, string>;
      redis: { url: string; prefix: string };
      amqp: { url: string; exchange: string };
      keys: KeyMaterial;
      /** The notification subgraph's sender (MAIL_FROM) and SMTP server (SMTP_URL), or an outbox folder instead. */
      mail: { from: string } & ({ smtpUrl: string } | { outboxDir: string });
    };

export interface SupergraphOptions {
  infrastructure: Infrastructure;
  /** Port per service; 0 picks a free one (tests). Defaults: 3000-3004. */
  ports?: Partial<Record<ServiceName, number>>;
  host?: string;
  production?: boolean;
  logLevel?: string;
  issuer?: string;
  audience?: string;
  corsOrigins?: string[];
  /** Proxies whose X-Forwarded-For the router believes (default: TRUSTED_PROXIES, i.e. loopback). */
  trustedProxies?: string[];
  /** Most operations in one batched request at the router (default: ROUTER_BATCH_LIMIT; 0: batching off). */
  batchLimit?: number;
  supergraphSdl?: string;
  /** E-mail retry tuning (tests: a long sweep keeps background queries out of query counts). */
  mailDispatch?: NotificationOverrides["dispatch"];
  /** Base URL of links in e-mails (default: PUBLIC_APP_URL). */
  appUrl?: string;
  /** SMS/push webhook settings that differ from SMS_WEBHOOK_URL, PUSH_WEBHOOK_URL, WEBHOOK_SIGNING_SECRET. */
  webhooks?: NotificationOverrides["webhooks"];
  /** Auth settings that differ from the defaults (tests: short sessions, small login limits, admin e-mails). */
  auth?: SettingsOverrides["auth"];
  /** Outbox relay tuning for every subgraph (tests: a long poll proves the commit wakes the relay). */
  outbox?: SubgraphRuntime<unknown>["outbox"];
  /** The router's own connection to the store (default: the one the subgraphs share). */
  routerStore?: KeyValueStore;
  /** Router request budgets that differ from the RATE_LIMIT_* variables (tests: small budgets). */
  rateLimit?: Partial<RateLimitSettings>;
  /** Where every service's JSON log lines go (default: standard output). */
  logDestination?: DestinationStream;
  /** Only the operations of codegen's manifest run at the router (default: OPERATION_SAFELIST). */
  operationSafelist?: boolean;
  /** Router subgraph timeouts and breaker settings that differ from SUBGRAPH_* (tests: short timeouts). */
  subgraphResilience?: SubgraphResilience;
  /** Router usage recording that differs from USAGE_* (tests: a short flush interval, small bounds). */
  usage?: Partial<UsageSettings>;
}

export interface RunningSupergraph {
  routerUrl: string;
  router: RunningService;
  subgraphs: Record<SubgraphName, RunningSubgraph>;
  bus: EventBus;
  store: KeyValueStore;
  keys: KeyMaterial;
  /** Where embedded mode writes e-mail (.eml files); null on real SMTP. */
  mailOutbox: string | null;
  stop(): Promise<void>;
}

/**
 * All five services in one process, still talking HTTP to each other as in production. The same
 * code path runs on embedded defaults (local PostgreSQL cluster, in-process bus, in-memory store)
 * and on real PostgreSQL, Redis and RabbitMQ.
 */
export async function startSupergraph(options: SupergraphOptions): Promise<RunningSupergraph> {
  const level = options.logLevel ?? process.env.LOG_LEVEL ?? "info";
  const logger = createLogger("orion", level, options.logDestination);
  const infra = options.infrastructure;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse())
      await step().catch((error: unknown) => logger.warn({ err: error }, "stop step failed"));
  };
  try {
    let databaseUrls: Record<SubgraphName, string>;
    let bus: EventBus;
    let store: KeyValueStore;
    let keys: KeyMaterial;
    // Notification's mail transport: its SMTP_URL and MAIL_FROM, or (embedded) an outbox folder instead of SMTP.
    let mail: { supplied: { SMTP_URL?: string; MAIL_FROM: string }; outboxDir?: string };
    if (infra.kind === "embedded") {
      const cluster: EmbeddedCluster = await startEmbeddedPostgres({ dataDir: infra.dataDir, logger });
      cleanups.push(() => cluster.stop());
      databaseUrls = Object.fromEntries(
        SUBGRAPH_NAMES.map((name) => [name, cluster.urlFor(`orion_${name}`)]),
      ) as Record<SubgraphName, string>;
      bus = new InProcessEventBus(logger.child({ component: "bus" }));
      store = new MemoryKeyValueStore();
      keys = loadOrCreateKeyMaterial(path.join(path.resolve(infra.dataDir), "keys"));
      mail = {
        supplied: {
          SMTP_URL: undefined,
          MAIL_FROM: infra.mailFrom ?? parseConfig(["MAIL_FROM"], {}).MAIL_FROM,
        },
        outboxDir: path.join(path.resolve(infra.dataDir), "mail"),
      };
    } else {
      databaseUrls = infra.databaseUrls;
      bus = await RabbitMqEventBus.connect({ ...infra.amqp, logger: logger.child({ component: "bus" }) });
      store = await RedisKeyValueStore.connect({ ...infra.redis, logger });
      keys = infra.keys;
      mail =
        "smtpUrl" in infra.mail
          ? { supplied: { SMTP_URL: infra.mail.smtpUrl, MAIL_FROM: infra.mail.from } }
          : {
              supplied: { SMTP_URL: undefined, MAIL_FROM: infra.mail.from },
              outboxDir: infra.mail.outboxDir,
            };
    }
    cleanups.push(
      () => store.close(),
      () => bus.close(),
    );

    const host = options.host ?? "127.0.0.1";
    const production = options.production ?? false;
    const issuer = options.issuer ?? "orion-auth";
    const audience = options.audience ?? "orion";
    // Each subgraph builds its own settings; this process only supplies what it already holds (keys,
    // mail transport, token names) and the options' overrides. Everything else is read from the environment.
    const settings: Record<SubgraphName, unknown> = {
      auth: settingsOf(
        "auth",
        {
          AUTH_SIGNING_KEY: keys.authSigningKey,
          AUTH_PASSWORD_PEPPER: keys.passwordPepper,
          JWT_ISSUER: issuer,
          JWT_AUDIENCE: audience,
        },
        options.auth,
      ),
      user: settingsOf("user", {}),
      notification: settingsOf(
        "notification",
        { ...mail.supplied, ...(options.appUrl === undefined ? {} : { PUBLIC_APP_URL: options.appUrl }) },
        { outboxDir: mail.outboxDir, webhooks: options.webhooks, dispatch: options.mailDispatch },
      ),
      analytics: settingsOf("analytics", {}),
    };
    const started = await Promise.all(
      SUBGRAPH_NAMES.map(async (name) => {
        const service = await startSubgraph(SUBGRAPHS[name], {
          databaseUrl: databaseUrls[name],
          bus,
          store,
          identityPublicKey: keys.identityPublicKey,
          port: options.ports?.[name] ?? DEFAULT_PORTS[name],
          host,
          production,
          logger: createLogger(name, level, options.logDestination),
          settings: settings[name],
          outbox: options.outbox,
        });
        cleanups.push(() => service.stop());
        return [name, service] as const;
      }),
    );
    const subgraphs = Object.fromEntries(started) as Record<SubgraphName, RunningSubgraph>;
    // The subgraphs' stop order matters less than stopping the router first, so no request reaches a stopped subgraph.
    const persisted = parseEnv(["OPERATION_SAFELIST", "PERSISTED_QUERIES_TTL"]);
    const router = await startRouter({
      port: options.ports?.router ?? DEFAULT_PORTS.router,
      host,
      production,
      logger: createLogger("router", level, options.logDestination),
      supergraphSdl: options.supergraphSdl ?? readFileSync(SUPERGRAPH_PATH, "utf8"),
      // The committed file is watched: `npm run schema:compose` reaches a running router without a restart.
      supergraphPath: options.supergraphSdl === undefined ? SUPERGRAPH_PATH : undefined,
      ...withResilience(resilienceFromEnv(parseEnv(RESILIENCE_VARIABLES)), options.subgraphResilience),
      subgraphUrls: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, subgraphs[name].url])),
      jwksUrl: new URL("/.well-known/jwks.json", subgraphs.auth.url).toString(),
      issuer,
      audience,
      identityPrivateKey: keys.identityPrivateKey,
      corsOrigins: options.corsOrigins ?? [],
      trustedProxies: options.trustedProxies ?? parseEnv(["TRUSTED_PROXIES"]).TRUSTED_PROXIES,
      bodyLimit: "100kb",
      batchLimit: options.batchLimit ?? parseEnv(["ROUTER_BATCH_LIMIT"]).ROUTER_BATCH_LIMIT,
      store: options.routerStore ?? store,
      rateLimit: { ...rateLimitSettingsFromEnv(parseEnv(RATE_LIMIT_VARIABLES)), ...options.rateLimit },
      persistedOperations: {
        safelist: options.operationSafelist ?? persisted.OPERATION_SAFELIST,
        ttlSeconds: persisted.PERSISTED_QUERIES_TTL,
      },
      usage: { ...usageSettingsFromEnv(parseEnv(USAGE_VARIABLES)), ...options.usage },
    });
    cleanups.push(() => router.stop());
    return {
      routerUrl: router.url,
      router,
      subgraphs,
      bus,
      store,
      keys,
      mailOutbox: mail.outboxDir ?? null,
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

export type { Logger };

function withResilience<R extends { subgraphs: SubgraphResilience }>(
  fromEnv: R,
  overrides: SubgraphResilience | undefined,
): R {
  if (!overrides) return fromEnv;
  const breaker = { ...fromEnv.subgraphs.breaker, ...overrides.breaker };
  return { ...fromEnv, subgraphs: { ...fromEnv.subgraphs, ...overrides, breaker } };
}

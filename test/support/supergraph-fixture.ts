import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { type Infrastructure, startSupergraph, type SupergraphOptions } from "../../cli/supergraph";
import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { dropDatabase } from "../../platform/database/database";
import { generateKeyMaterial } from "../../platform/identity/keys";
import { createLogger } from "../../platform/logger";
import { SUPERGRAPH_PATH } from "../../platform/paths";
import type { KeyValueStore } from "../../platform/store/key-value-store";
import { RedisKeyValueStore } from "../../platform/store/redis-store";
import type { RouterOptions } from "../../router/router";
import { SUBGRAPHS } from "../../subgraphs";
import { graphqlClient } from "./graphql-client";
import { databaseUrl, deleteRabbitMqObjects, REAL_SERVICES, runId } from "./services";
import { startSmtpServer } from "./smtp";

export interface MailMessage {
  to: string;
  raw: string;
}

export interface Mailbox {
  messages(): MailMessage[];
}

/** Every durable queue the subgraphs declare, read from their definitions: what a test run must delete. */
export function consumerQueues(): string[] {
  return SUBGRAPH_NAMES.flatMap(
    (name) => SUBGRAPHS[name].subscriptions?.({} as never).map((subscription) => subscription.queue) ?? [],
  );
}

/**
 * The whole supergraph (router + four subgraphs over HTTP) for one test file: on embedded defaults,
 * or on the machine's PostgreSQL, Redis and RabbitMQ with databases, key prefix and exchange of
 * its own, and a real SMTP server that records what it receives. Everything listens on port 0.
 */
export async function startTestSupergraph(
  kind: "embedded" | "services",
  options: Partial<Omit<SupergraphOptions, "infrastructure">> & {
    /** Services only: the router talks to Redis at this address (e.g. a proxy a test can cut). */
    routerRedisUrl?: string;
    /**
     * Services only: the router's usage writes (and nothing else of its) reach Redis at this address
     * (e.g. a proxy a test can cut), with a 10 s command budget, so a test sees what usage
     * recording alone does to requests.
     */
    routerUsageRedisUrl?: string;
    /** Services only: every subgraph reaches RabbitMQ at this address (e.g. a proxy a test can cut). */
    amqpUrl?: string;
    /**
     * Services only: the subgraphs' store (and the router's, unless routerRedisUrl is given) reaches
     * Redis at this address (e.g. a proxy a test can cut).
     */
    redisUrl?: string;
    /**
     * Services only: these subgraphs reach PostgreSQL through 127.0.0.1:<port> (e.g. a proxy a
     * test can cut) instead of directly; their databases are still the run's own.
     */
    databasePorts?: Partial<Record<SubgraphName, number>>;
  } = {},
) {
  const id = runId();
  const cleanups: (() => Promise<void>)[] = [];
  let infrastructure: Infrastructure;
  let mailbox: Mailbox;
  let redisPrefix: string | null = null;
  let exchange: string | null = null;
  if (kind === "embedded") {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "orion-e2e-"));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    infrastructure = { kind: "embedded", dataDir };
    mailbox = {
      messages: () => {
        const dir = path.join(dataDir, "mail");
        return readdirSync(dir).map((file) => {
          const raw = readFileSync(path.join(dir, file), "utf8");
          return { to: /^To: (.*)$/m.exec(raw)?.[1] ?? "", raw };
        });
      },
    };
  } else {
    const smtp = await startSmtpServer();
    cleanups.push(() => smtp.close());
    mailbox = { messages: () => smtp.received };
    const databaseUrls = Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => [name, databaseUrl(`orion_test_${id}_${name}`)]),
    ) as Record<SubgraphName, string>;
    cleanups.push(async () => {
      for (const url of Object.values(databaseUrls)) await dropDatabase(url);
    });
    const subgraphDatabaseUrls = { ...databaseUrls };
    for (const [name, port] of Object.entries(options.databasePorts ?? {}) as [SubgraphName, number][]) {
      const proxied = new URL(databaseUrls[name]);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(port);
      subgraphDatabaseUrls[name] = proxied.toString();
    }
    exchange = `orion.test.${id}`;
    const runExchange = exchange;
    cleanups.push(() => deleteRabbitMqObjects(runExchange, consumerQueues()));
    redisPrefix = `test:${id}:`;
    const prefix = redisPrefix;
    cleanups.push(async () => {
      const store = await connectTestRedis(prefix);
      await store.clear();
      await store.close();
    });
    infrastructure = {
      kind: "services",
      databaseUrls: subgraphDatabaseUrls,
      redis: { url: options.redisUrl ?? REAL_SERVICES.redis.url, prefix },
      amqp: { url: options.amqpUrl ?? REAL_SERVICES.rabbitmq.url, exchange: runExchange },
      keys: generateKeyMaterial(),
      mail: { smtpUrl: smtp.url, from: "ORION <no-reply@orion.test>" },
    };
  }
  const {
    routerRedisUrl,
    routerUsageRedisUrl,
    amqpUrl: _amqpUrl,
    redisUrl: _redisUrl,
    databasePorts: _databasePorts,
    ...supergraphOptions
  } = options;
  if (routerRedisUrl && redisPrefix) {
    const routerStore = await connectTestRedis(redisPrefix, routerRedisUrl);
    cleanups.push(() => routerStore.close());
    supergraphOptions.routerStore = routerStore;
  }
  if (routerUsageRedisUrl && redisPrefix) {
    const direct = await connectTestRedis(redisPrefix, routerRedisUrl);
    // A budget longer than any fault a test makes: a write held that long must still hold no request.
    const usage = await connectTestRedis(redisPrefix, routerUsageRedisUrl, 10_000);
    cleanups.push(
      () => direct.close(),
      () => usage.close(),
    );
    supergraphOptions.routerStore = new Proxy(direct, {
      get(target, property) {
        const store = property === "hashIncrement" ? usage : target;
        const value: unknown = Reflect.get(store, property, store);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(store) : value;
      },
    });
  }
  const supergraph = await startSupergraph({
    infrastructure,
    ports: { router: 0, auth: 0, user: 0, notification: 0, analytics: 0 },
    logLevel: "silent",
    ...supergraphOptions,
    // Every test client shares one address: edge rate limits are tested where they are the subject.
    rateLimit: {
      anonymousPoints: 1_000_000,
      userPoints: 1_000_000,
      apiKeyPoints: 1_000_000,
      ...supergraphOptions.rateLimit,
    },
  });
  return {
    supergraph,
    /** Where the services run (databases, Redis, exchange, keys, SMTP): what another replica needs. */
    infrastructure,
    mailbox,
    redisPrefix,
    request: graphqlClient(supergraph.routerUrl),
    /** Deletes queues a test subscribed on this run's exchange (services only). */
    deleteQueues: async (queues: string[]) => {
      if (exchange) await deleteRabbitMqObjects(exchange, queues, { keepExchange: true });
    },
    stop: async () => {
      await supergraph.stop();
      for (const step of cleanups.reverse()) await step();
    },
  };
}

export type TestSupergraph = Awaited<ReturnType<typeof startTestSupergraph>>;

/** The rows of one SQL query on a subgraph's own database: what a test checks behind the API. */
export function subgraphSql<T>(
  env: TestSupergraph,
  subgraph: SubgraphName,
  query: string,
  params: unknown[] = [],
): Promise<T[]> {
  return env.supergraph.subgraphs[subgraph].db.orm.em.fork().getConnection().execute<T[]>(query, params);
}

/** What another router over the test supergraph's subgraphs needs, for a test that starts one configured otherwise. */
export function routerOptionsOver(env: TestSupergraph, store: KeyValueStore): RouterOptions {
  const subgraphs = env.supergraph.subgraphs;
  return {
    port: 0,
    host: "127.0.0.1",
    production: false,
    logger: createLogger("router", "silent"),
    supergraphSdl: readFileSync(SUPERGRAPH_PATH, "utf8"),
    subgraphUrls: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, subgraphs[name].url])),
    jwksUrl: new URL("/.well-known/jwks.json", subgraphs.auth.url).toString(),
    issuer: "orion-auth",
    audience: "orion",
    identityPrivateKey: env.supergraph.keys.identityPrivateKey,
    corsOrigins: [],
    bodyLimit: "100kb",
    store,
  };
}

export const connectTestRedis = (prefix: string, url = REAL_SERVICES.redis.url, commandTimeoutMs?: number) =>
  RedisKeyValueStore.connect({ url, prefix, logger: createLogger("test", "silent"), commandTimeoutMs });

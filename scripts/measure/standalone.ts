import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import amqp from "amqplib";
import pg from "pg";
import { createClient } from "redis";
import { PORT_VARIABLES, SUBGRAPH_NAMES, type ServiceName, type SubgraphName } from "../../platform/config";
import { PROJECT_ROOT } from "../../platform/paths";
import { dropDatabase } from "../../platform/database/database";
import { generateKeyMaterial } from "../../platform/identity/keys";
import { SUBGRAPHS } from "../../subgraphs";
import { freePorts } from "./all-in-one";
import { register, waitForConsumers, waitForReady, warmUp } from "./client";
import { rssKiB } from "./proc";
import { startSmtp } from "./smtp-sink";
import { cleanEnv, onAbort, Spawned, within, type StopResult } from "./spawned";

/** Part 3: each service alone (`orion serve <name>`, what a container runs) on the real PostgreSQL, Redis and RabbitMQ. */

export const REAL = {
  postgres: "postgres://postgres@127.0.0.1:5432",
  redis: "redis://127.0.0.1:6379",
  amqp: "amqp://guest:guest@127.0.0.1:5672",
};

export interface ServiceMeasurement {
  name: ServiceName;
  readyMs: number;
  readyKiB: number;
  afterKiB: number;
  stop: StopResult | null;
}

export interface StandaloneResult {
  services: ServiceMeasurement[];
  warmUp: { requests: number; failed: number; firstError: string | null; ms: number };
  mailsReceived: number;
  cleanup: string[];
}

const ORDER: ServiceName[] = [...SUBGRAPH_NAMES, "router"];
/** The NODE_OPTIONS the image sets, read from the Dockerfile so the two cannot drift apart. */
const CONTAINER_NODE_OPTIONS =
  /^ENV NODE_OPTIONS=(.+)$/m.exec(
    readFileSync(path.join(PROJECT_ROOT, "docker", "Dockerfile"), "utf8"),
  )?.[1] ?? "";

export const databaseName = (runId: string, name: SubgraphName) => `orion_measure_${runId}_${name}`;
const databaseUrl = (runId: string, name: SubgraphName) => `${REAL.postgres}/${databaseName(runId, name)}`;

export async function measureStandalone(runId: string, log: (m: string) => void): Promise<StandaloneResult> {
  const keys = generateKeyMaterial();
  const prefix = `measure:${runId}:`;
  const exchange = `orion.measure.${runId}`;
  const portList = await freePorts(6);
  const ports = Object.fromEntries(ORDER.map((name, i) => [name, portList[i]!])) as Record<
    ServiceName,
    number
  >;
  const smtp = await startSmtp(portList[5]!);
  const processes = new Map<ServiceName, Spawned>();
  const measured = new Map<ServiceName, Partial<ServiceMeasurement>>();
  const stops = new Map<ServiceName, StopResult>();
  const urlOf = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
  // Filled in by the finally below; the returned object shares this array.
  const cleanup: string[] = [];
  const abortCleanup = () => cleanUp(runId, prefix, exchange);
  onAbort.add(abortCleanup);
  try {
    const common = {
      NODE_ENV: "production",
      LOG_LEVEL: "info",
      HOST: "127.0.0.1",
    };
    const subgraphCommon = {
      ...common,
      REDIS_URL: REAL.redis,
      REDIS_KEY_PREFIX: prefix,
      AMQP_URL: REAL.amqp,
      AMQP_EXCHANGE: exchange,
      IDENTITY_PUBLIC_KEY: keys.identityPublicKey,
    };
    const envs: Record<ServiceName, Record<string, string>> = {
      auth: {
        ...subgraphCommon,
        AUTH_DATABASE_URL: databaseUrl(runId, "auth"),
        AUTH_SIGNING_KEY: keys.authSigningKey,
        AUTH_PASSWORD_PEPPER: keys.passwordPepper,
      },
      user: { ...subgraphCommon, USER_DATABASE_URL: databaseUrl(runId, "user") },
      notification: {
        ...subgraphCommon,
        NOTIFICATION_DATABASE_URL: databaseUrl(runId, "notification"),
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      },
      analytics: { ...subgraphCommon, ANALYTICS_DATABASE_URL: databaseUrl(runId, "analytics") },
      router: {
        ...common,
        // Sessions and API keys are checked in Redis on every credentialed request (issue 3).
        REDIS_URL: REAL.redis,
        REDIS_KEY_PREFIX: prefix,
        IDENTITY_PRIVATE_KEY: keys.identityPrivateKey,
        AUTH_URL: `${urlOf("auth")}/graphql`,
        USER_URL: `${urlOf("user")}/graphql`,
        NOTIFICATION_URL: `${urlOf("notification")}/graphql`,
        ANALYTICS_URL: `${urlOf("analytics")}/graphql`,
        AUTH_JWKS_URL: `${urlOf("auth")}/.well-known/jwks.json`,
      },
    };
    // One at a time, so each start-up time is the service's own and not a share of two CPUs.
    for (const name of ORDER) {
      // The heap settings the containers run with: docker/Dockerfile's NODE_OPTIONS.
      const env = cleanEnv({
        ...envs[name],
        [PORT_VARIABLES[name]]: String(ports[name]),
        NODE_OPTIONS: CONTAINER_NODE_OPTIONS,
      });
      log(
        `standalone: spawning NODE_OPTIONS="${CONTAINER_NODE_OPTIONS}" node dist/cli/main.js serve ${name} (port ${ports[name]})`,
      );
      const started = performance.now();
      const service = new Spawned(`orion serve ${name}`, ["dist/cli/main.js", "serve", name], env);
      processes.set(name, service);
      try {
        await waitForReady(urlOf(name), 60_000, () => service.failure());
      } catch (error) {
        throw new Error(
          `${error instanceof Error ? error.message : String(error)}\n--- last output ---\n${service.tail()}`,
          { cause: error },
        );
      }
      const readyMs = performance.now() - started;
      measured.set(name, { name, readyMs, readyKiB: rssOrThrow(service) });
      log(`standalone: ${name} ready after ${(readyMs / 1000).toFixed(2)} s`);
    }

    const routerUrl = `${urlOf("router")}/graphql`;
    const signedIn = await register(
      routerUrl,
      `measure-${runId}-standalone@example.com`,
      "Measure standalone",
    );
    await waitForConsumers(routerUrl, signedIn);
    const traffic = await warmUp(routerUrl, signedIn.token, 200);
    log(
      `standalone: warm-up done (${traffic.requests} requests, ${traffic.failed} failed, ${traffic.ms} ms)`,
    );
    for (const name of ORDER) measured.get(name)!.afterKiB = rssOrThrow(processes.get(name)!);
    // The welcome e-mail goes out after the inbox row is written; give it a moment to arrive.
    await within(
      (async () => {
        while (smtp.received() < 1) await new Promise((resolve) => setTimeout(resolve, 100));
      })(),
      5_000,
    );
    const mailsReceived = smtp.received();

    await stopAll(processes, stops);
    return {
      services: ORDER.map((name) => ({
        ...(measured.get(name) as ServiceMeasurement),
        stop: stops.get(name) ?? null,
      })),
      warmUp: traffic,
      mailsReceived,
      cleanup,
    };
  } finally {
    await stopAll(processes, stops);
    if (!(await within(smtp.close(), 10_000))) log("standalone: SMTP server did not close within 10 s");
    cleanup.push(...(await cleanUp(runId, prefix, exchange)));
    onAbort.delete(abortCleanup);
    log(`standalone: cleanup ${cleanup.length === 0 ? "complete" : `problems: ${cleanup.join("; ")}`}`);
  }
}

function rssOrThrow(service: Spawned): number {
  const rss = rssKiB(service.pid);
  if (rss === null) throw new Error(service.failure() ?? `${service.label}: no VmRSS for pid ${service.pid}`);
  return rss;
}

/** Router first, so no request reaches a stopped subgraph; then the subgraphs together. */
async function stopAll(
  processes: Map<ServiceName, Spawned>,
  stops: Map<ServiceName, StopResult>,
): Promise<void> {
  const stopOne = async (name: ServiceName) => {
    const service = processes.get(name);
    if (!service || stops.has(name)) return;
    stops.set(name, await service.stop());
  };
  await stopOne("router");
  await Promise.all(SUBGRAPH_NAMES.map(stopOne));
}

/** Best effort: drop the run's databases, Redis keys, RabbitMQ queues and exchanges; report what remains. */
export async function cleanUp(runId: string, prefix: string, exchange: string): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, step: () => Promise<void>) => {
    try {
      if (!(await within(step(), 15_000))) problems.push(`${what}: timed out`);
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  for (const name of SUBGRAPH_NAMES)
    await attempt(`drop ${databaseName(runId, name)}`, () => dropDatabase(databaseUrl(runId, name)));
  await attempt("check databases", async () => {
    const client = new pg.Client({
      connectionString: `${REAL.postgres}/postgres`,
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    try {
      const left = await client.query<{ datname: string }>(
        "select datname from pg_database where datname like $1",
        [`orion_measure_${runId}_%`],
      );
      if (left.rows.length > 0)
        problems.push(`databases left: ${left.rows.map((r) => r.datname).join(", ")}`);
    } finally {
      await client.end();
    }
  });

  await attempt("redis keys", async () => {
    const client = createClient({
      url: REAL.redis,
      socket: { connectTimeout: 5000, reconnectStrategy: false },
    });
    client.on("error", () => undefined);
    await client.connect();
    try {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
        if (keys.length > 0) await client.del(keys);
      }
      let left = 0;
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) left += keys.length;
      if (left > 0) problems.push(`${left} Redis keys left under ${prefix}`);
    } finally {
      await client.quit();
    }
  });

  await attempt("rabbitmq", async () => {
    const connection = await amqp.connect(REAL.amqp, { timeout: 5000 });
    connection.on("error", () => undefined);
    try {
      const queues: string[] = [];
      for (const name of SUBGRAPH_NAMES) {
        // Only the queue names are read; the handlers are never called.
        const subscriptions =
          SUBGRAPHS[name].subscriptions?.({ db: null, deps: null, bus: null, logger: null } as never) ?? [];
        for (const { queue } of subscriptions)
          queues.push(`${exchange}.${queue}`, `${exchange}.${queue}.dead`);
      }
      // A failed operation closes its channel, so each gets its own.
      const onChannel = async (step: (channel: amqp.Channel) => Promise<unknown>) => {
        const channel = await connection.createChannel();
        channel.on("error", () => undefined);
        try {
          await step(channel);
          await channel.close();
          return true;
        } catch {
          return false;
        }
      };
      for (const queue of queues) {
        if (!(await onChannel((channel) => channel.deleteQueue(queue))))
          problems.push(`could not delete queue ${queue}`);
      }
      for (const name of [exchange, `${exchange}.dead-letter`]) {
        if (!(await onChannel((channel) => channel.deleteExchange(name))))
          problems.push(`could not delete exchange ${name}`);
      }
      // checkQueue/checkExchange fail (404) when the object is gone, which is what we want.
      for (const queue of queues) {
        if (await onChannel((channel) => channel.checkQueue(queue)))
          problems.push(`queue ${queue} still exists`);
      }
      for (const name of [exchange, `${exchange}.dead-letter`]) {
        if (await onChannel((channel) => channel.checkExchange(name)))
          problems.push(`exchange ${name} still exists`);
      }
    } finally {
      await connection.close().catch(() => undefined);
    }
  });
  return problems;
}

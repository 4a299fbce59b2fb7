import { randomBytes } from "node:crypto";
import { Socket } from "node:net";

import amqp from "amqplib";

/**
 * The real PostgreSQL, Redis and RabbitMQ the integration suites run against. On a laptop without
 * them those suites are skipped loudly; with ORION_REQUIRE_SERVICES=1 (set by .ci/run) a missing
 * service fails the run instead, so CI always exercises the real adapters.
 */
export const REAL_SERVICES = {
  postgres: {
    url: process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    port: 5432,
  },
  redis: { url: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379", port: 6379 },
  rabbitmq: { url: process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672", port: 5672 },
} as const;
export type RealService = keyof typeof REAL_SERVICES;

export const HOW_TO_START =
  "run them locally (PostgreSQL with trust auth for user postgres, Redis, RabbitMQ with guest/guest) " +
  "or point TEST_POSTGRES_URL, TEST_REDIS_URL and TEST_AMQP_URL at them";

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000);
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
    socket.connect(Number(port || defaultPort), hostname);
  });
}

/** Which of the named services answer; throws under ORION_REQUIRE_SERVICES when one does not. */
export async function missingServices(names: readonly RealService[]): Promise<RealService[]> {
  const missing: RealService[] = [];
  for (const name of names)
    if (!(await reachable(REAL_SERVICES[name].url, REAL_SERVICES[name].port))) missing.push(name);
  if (missing.length > 0 && process.env.ORION_REQUIRE_SERVICES === "1") {
    throw new Error(`required services are not reachable: ${missing.join(", ")} (${HOW_TO_START})`);
  }
  return missing;
}

/**
 * `describe` when the services answer; otherwise a skipped block whose name says what is missing.
 * Reachability is probed once, before the test files run (see global-setup.ts).
 */
export function describeWithServices(names: readonly RealService[], title: string, body: () => void): void {
  const missing = names.filter((name) => (process.env[`ORION_MISSING_${name.toUpperCase()}`] ?? "") === "1");
  if (missing.length === 0) describe(title, body);
  else describe.skip(`${title} [SKIPPED: ${missing.join(", ")} not running; ${HOW_TO_START}]`, body);
}

/** A token unique to this test file's run: databases, Redis prefixes and exchanges are named with it. */
export function runId(): string {
  return `t${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

export function databaseUrl(name: string): string {
  const url = new URL(REAL_SERVICES.postgres.url);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Retry queues deleted per queue: more than any test's retry policy has delays. */
const MAX_RETRY_QUEUES = 10;

/**
 * Deletes a run's exchange, dead-letter exchange and queues (each with its dead-letter queue and
 * retry queues `<queue>.retry.<n>`), through a connection of its own. Deleting a queue that does
 * not exist is no error, so every possible retry queue is deleted.
 */
export async function deleteRabbitMqObjects(
  exchange: string,
  queues: readonly string[],
  options: { keepExchange?: boolean } = {},
): Promise<void> {
  const connection = await amqp.connect(REAL_SERVICES.rabbitmq.url);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) {
      await channel.deleteQueue(`${exchange}.${queue}`);
      await channel.deleteQueue(`${exchange}.${queue}.dead`);
      for (let n = 1; n <= MAX_RETRY_QUEUES; n++)
        await channel.deleteQueue(`${exchange}.${queue}.retry.${n}`);
    }
    if (!options.keepExchange) {
      await channel.deleteExchange(exchange);
      await channel.deleteExchange(`${exchange}.dead-letter`);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
}

import "reflect-metadata";

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import amqp from "amqplib";
import { z } from "zod";

import { type Database, dropDatabase, openDatabase } from "../../platform/database/database";
import { consumer, inboxSubscription, on } from "../../platform/events/consumer";
import { createEnvelope, defineEvent, type EventBus } from "../../platform/events/event-bus";
import { EVENT_TABLE_MIGRATIONS, EVENT_TABLES } from "../../platform/events/event-tables";
import { OutboxRelay, stageEvent } from "../../platform/events/outbox";
import { RabbitMqEventBus } from "../../platform/events/rabbitmq-bus";
import { createLogger } from "../../platform/logger";
import { PROJECT_ROOT } from "../../platform/paths";

/**
 * `npm run bench:events`: events through the outbox -> RabbitMQ -> a consumer whose effect is a
 * row written in the inbox transaction. Reports throughput and end-to-end lag at a fixed rate, side
 * by side with a baseline that publishes straight to the broker (no outbox), as ratios.
 * Needs PostgreSQL and RabbitMQ (BENCH_POSTGRES_URL, BENCH_AMQP_URL; defaults: the local ones).
 */

const BenchEvent = defineEvent("bench.tick", 1, z.object({ n: z.number().int(), sentAt: z.number() }));
const logger = createLogger("bench", process.env.LOG_LEVEL ?? "warn");
const POSTGRES = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const AMQP = process.env.BENCH_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const THROUGHPUT_EVENTS = Number(process.env.BENCH_EVENTS ?? 5000);
const RATE_PER_SECOND = Number(process.env.BENCH_RATE ?? 200);
const RATE_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

interface Rig {
  db: Database;
  bus: EventBus;
  relay: OutboxRelay;
  effects(): Promise<number>;
  lags(): Promise<number[]>;
  close(): Promise<void>;
}

async function rig(name: string): Promise<Rig> {
  const url = new URL(POSTGRES);
  url.pathname = `/orion_bench_${name}_${process.pid}`;
  const db = await openDatabase({
    url: url.toString(),
    entities: EVENT_TABLES,
    migrations: EVENT_TABLE_MIGRATIONS,
    logger,
    contextName: name,
    poolMax: 20,
  });
  const connection = db.orm.em.getConnection();
  await connection.execute(
    `create table bench_effects (n integer primary key, lag_ms double precision not null)`,
  );
  const exchange = `orion.bench.${name}.${process.pid}`;
  const bus = await RabbitMqEventBus.connect({ url: AMQP, exchange, logger, prefetch: 50 });
  const unsubscribe = await bus.subscribe(
    inboxSubscription(
      consumer("bench.effects", [
        on(BenchEvent, async (payload, { em }) => {
          await em.execute(`insert into bench_effects (n, lag_ms) values (?, ?)`, [
            payload.n,
            Date.now() - payload.sentAt,
          ]);
        }),
      ]),
      { db, producer: "bench", logger },
    ),
  );
  const relay = new OutboxRelay({ db, databaseUrl: url.toString(), bus, logger, batchSize: 200 });
  await relay.start();
  return {
    db,
    bus,
    relay,
    effects: async () =>
      Number((await connection.execute<{ c: string }[]>(`select count(*) c from bench_effects`))[0]!.c),
    lags: async () =>
      (
        await connection.execute<{ lag_ms: number }[]>(`select lag_ms from bench_effects order by lag_ms`)
      ).map((r) => Number(r.lag_ms)),
    close: async () => {
      await relay.stop();
      await unsubscribe();
      await bus.close();
      await deleteTopology(exchange, "bench.effects");
      await db.close();
      await dropDatabase(url.toString());
    },
  };
}

/** The run's exchange and queues (main, dead letters, retry steps) do not outlive it. */
async function deleteTopology(exchange: string, queue: string): Promise<void> {
  const connection = await amqp.connect(AMQP);
  try {
    const channel = await connection.createChannel();
    const base = `${exchange}.${queue}`;
    for (const name of [
      base,
      `${base}.dead`,
      ...Array.from({ length: 10 }, (_, i) => `${base}.retry.${i + 1}`),
    ])
      await channel.deleteQueue(name);
    await channel.deleteExchange(exchange);
    await channel.deleteExchange(`${exchange}.dead-letter`);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Publishes one event the way producers do: through the outbox, or straight to the broker. */
async function send(r: Rig, mode: "outbox" | "direct", n: number): Promise<void> {
  const payload = { n, sentAt: Date.now() };
  if (mode === "direct") return r.bus.publish(createEnvelope(BenchEvent, payload, { producer: "bench" }));
  const em = r.db.orm.em.fork();
  stageEvent(em, BenchEvent, payload, { producer: "bench", correlationId: `bench-${n}` });
  await em.flush();
}

async function waitFor(r: Rig, count: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await r.effects()) < count) {
    if (Date.now() > deadline)
      throw new Error(`only ${await r.effects()} of ${count} effects after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function throughput(mode: "outbox" | "direct"): Promise<number> {
  const r = await rig(`${mode}_tp`);
  try {
    const started = performance.now();
    // 20 concurrent producers, like 20 requests in flight.
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < THROUGHPUT_EVENTS) await send(r, mode, next++);
      }),
    );
    await waitFor(r, THROUGHPUT_EVENTS);
    return THROUGHPUT_EVENTS / ((performance.now() - started) / 1000);
  } finally {
    await r.close();
  }
}

async function lagAtRate(mode: "outbox" | "direct"): Promise<{ p50: number; p99: number; max: number }> {
  const r = await rig(`${mode}_lag`);
  try {
    const total = RATE_PER_SECOND * RATE_SECONDS;
    const interval = 1000 / RATE_PER_SECOND;
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let n = 0; n < total; n++) {
      const due = started + n * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(send(r, mode, n));
    }
    await Promise.all(inFlight);
    await waitFor(r, total);
    const lags = await r.lags();
    const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))]!;
    return { p50: at(0.5), p99: at(0.99), max: lags.at(-1)! };
  } finally {
    await r.close();
  }
}

async function main(): Promise<void> {
  const result = {
    date: new Date().toISOString(),
    machine: process.env.BENCH_MACHINE ?? "this machine",
    settings: { throughputEvents: THROUGHPUT_EVENTS, ratePerSecond: RATE_PER_SECOND, seconds: RATE_SECONDS },
    throughput: { outbox: await throughput("outbox"), direct: await throughput("direct") },
    lag: { outbox: await lagAtRate("outbox"), direct: await lagAtRate("direct") },
  };
  const dir = path.join(PROJECT_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "events.json");
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const f = (value: number) => value.toFixed(1);
  console.log(
    `| path | events/s (20 producers) | lag p50 ms | lag p99 ms | at ${RATE_PER_SECOND}/s for ${RATE_SECONDS}s |`,
  );
  console.log("| --- | --- | --- | --- | --- |");
  for (const mode of ["outbox", "direct"] as const)
    console.log(
      `| ${mode === "outbox" ? "outbox -> RabbitMQ -> inbox consumer" : "baseline: publish directly (no outbox)"} | ${f(result.throughput[mode])} | ${f(result.lag[mode].p50)} | ${f(result.lag[mode].p99)} | max ${f(result.lag[mode].max)} |`,
    );
  console.log(
    `\nratio outbox/direct: throughput ${(result.throughput.outbox / result.throughput.direct).toFixed(2)}x, p50 lag ${(result.lag.outbox.p50 / result.lag.direct.p50).toFixed(2)}x, p99 lag ${(result.lag.outbox.p99 / result.lag.direct.p99).toFixed(2)}x`,
  );
  console.log(`\nwritten to ${path.relative(PROJECT_ROOT, file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

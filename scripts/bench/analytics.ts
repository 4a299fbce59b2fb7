import "reflect-metadata";

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { type Database, dropDatabase, openDatabase } from "../../platform/database/database";
import { subgraphEntities, subgraphMigrations } from "../../platform/database/subgraph-schema";
import { createLogger } from "../../platform/logger";
import { PROJECT_ROOT } from "../../platform/paths";
import { analyticsSubgraph } from "../../subgraphs/analytics";
import { TrackedEvent } from "../../subgraphs/analytics/entities/tracked-event.entity";
import { type InsightRange, Interval } from "../../subgraphs/analytics/resolvers/insights.type";
import { EventIngester } from "../../subgraphs/analytics/services/ingester";
import * as insights from "../../subgraphs/analytics/services/insights";
import { recordEvents } from "../../subgraphs/analytics/services/rollups";
import { SEED_EVENT_NAMES, seedEvents } from "../../subgraphs/analytics/services/seed";
import { DAY_MS as DAY } from "../../subgraphs/analytics/services/time";

/**
 * `npm run bench:analytics`: the analytics subgraph's ingestion and insights at scale, on the
 * local PostgreSQL, each figure side by side with a baseline:
 *
 * - Ingestion: BENCH_CONCURRENCY (64) callers tracking one event each, as trackEvent does, through
 *   the group-committing EventIngester, against the same calls each in its own transaction.
 * - Insights at BENCH_SIZES events (default 1M and 10M, seeded with `orion analytics seed`'s
 *   seedEvents over a year): the overview as the resolvers run it (its fields in parallel), event
 *   series and retention cohorts, answered from the rollups; against the same answers computed
 *   from the raw events, which is what the rollups save.
 *
 * Results: bench/results/analytics.json. Takes about 6 minutes and ~3 GB of disk at 10M.
 */

const logger = createLogger("bench", process.env.LOG_LEVEL ?? "warn");
const POSTGRES = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const SIZES = (process.env.BENCH_SIZES ?? "1000000,10000000").split(",").map(Number);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const INGEST_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 5);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const BASELINE_RUNS = Number(process.env.BENCH_BASELINE_RUNS ?? 3);

const log = (message: string) => process.stderr.write(`[bench:analytics] ${message}\n`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed(runs: number, work: () => Promise<unknown>) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { runs, p50: round(percentile(times, 50)), p95: round(percentile(times, 95)) };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** The whole overview as the resolvers answer it: every field at once, each on its own connection. */
function overview(db: Database, range: InsightRange) {
  const em = () => db.orm.em.fork();
  return Promise.all([
    insights.totalUsers(em(), range),
    insights.newUsers(em(), range),
    insights.activeUsers(em(), range),
    insights.activeUsersEnding(em(), range, 7),
    insights.activeUsersEnding(em(), range, 30),
    insights.dailyActiveUsers(em(), range),
    insights.topEvents(em(), range, 10),
  ]);
}

/** The same overview from the raw events: what answering without rollups costs. */
function overviewFromRaw(db: Database, { from, to }: InsightRange) {
  const run = (sql: string, params: unknown[]) => db.orm.em.fork().getConnection().execute(sql, params);
  const day = `(occurred_at at time zone 'UTC')::date`;
  return Promise.all([
    run(`select count(*) from events where name = 'user.registered' and occurred_at < ?`, [to]),
    run(
      `select count(*) from events where name = 'user.registered' and occurred_at >= ? and occurred_at < ?`,
      [from, to],
    ),
    run(`select count(distinct user_id) from events where occurred_at >= ? and occurred_at < ?`, [from, to]),
    run(
      `select count(distinct user_id) from events where occurred_at >= ?::timestamptz - interval '7 days' and occurred_at < ?`,
      [to, to],
    ),
    run(
      `select count(distinct user_id) from events where occurred_at >= ?::timestamptz - interval '30 days' and occurred_at < ?`,
      [to, to],
    ),
    run(
      `select ${day}, count(distinct user_id) from events where occurred_at >= ? and occurred_at < ? group by 1`,
      [from, to],
    ),
    run(
      `select name, count(*) from events where occurred_at >= ? and occurred_at < ? group by 1 order by 2 desc limit 10`,
      [from, to],
    ),
  ]);
}

async function ingestion(db: Database) {
  const userIds = Array.from({ length: 1000 }, () => crypto.randomUUID());
  const event = (i: number) =>
    Object.assign(new TrackedEvent(), {
      userId: userIds[i % userIds.length]!,
      name: SEED_EVENT_NAMES[i % SEED_EVENT_NAMES.length]!,
      properties: { path: `/page/${i % 50}` },
    });
  const measure = async (label: string, track: (e: TrackedEvent) => Promise<unknown>) => {
    let done = 0;
    const deadline = performance.now() + INGEST_SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) await track(event(done++));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const eventsPerSecond = Math.round(done / seconds);
    log(`ingestion, ${label}: ${eventsPerSecond} events/s`);
    return { events: done, seconds: round(seconds), eventsPerSecond };
  };
  const ingester = new EventIngester(db);
  const grouped = await measure("group commit (EventIngester)", (e) => ingester.track([e]));
  const single = await measure("one transaction per event", (e) =>
    db.orm.em.fork().transactional((em) => recordEvents(em, [e])),
  );
  return {
    concurrency: CONCURRENCY,
    grouped,
    single,
    ratio: round(grouped.eventsPerSecond / single.eventsPerSecond),
  };
}

async function insightsAt(db: Database, size: number) {
  const now = new Date();
  const ranges: Record<string, InsightRange> = {
    "last 30 days": { from: new Date(now.getTime() - 30 * DAY), to: now },
    "last 365 days": { from: new Date(now.getTime() - 365 * DAY), to: now },
  };
  const result: Record<string, unknown> = { events: size };
  const [rows] = await db.orm.em
    .getConnection()
    .execute<{ events: string; users: string; days: string; hours: string }[]>(
      `select (select count(*) from events) as events, (select count(*) from user_totals) as users,
              (select count(*) from user_activity_days) as days, (select count(*) from event_counts_hourly) as hours`,
    );
  result.rows = {
    events: Number(rows!.events),
    userTotals: Number(rows!.users),
    userActivityDays: Number(rows!.days),
    eventCountsHourly: Number(rows!.hours),
  };
  for (const [label, range] of Object.entries(ranges)) {
    await overview(db, range); // warm
    const rollups = await timed(RUNS, () => overview(db, range));
    const raw = await timed(BASELINE_RUNS, () => overviewFromRaw(db, range));
    log(
      `${size} events, overview ${label}: p50 ${rollups.p50} ms from rollups, ${raw.p50} ms from raw events`,
    );
    result[`overview, ${label}`] = { rollups, raw, speedup: round(raw.p50 / rollups.p50) };
  }
  const year = ranges["last 365 days"]!;
  const week: InsightRange = { from: new Date(now.getTime() - 7 * DAY), to: now };
  result["eventSeries DAY, 365 days"] = await timed(RUNS, () =>
    insights.eventSeries(db.orm.em.fork(), year, Interval.DAY, null),
  );
  result["eventSeries HOUR, 7 days, one name"] = await timed(RUNS, () =>
    insights.eventSeries(db.orm.em.fork(), week, Interval.HOUR, "page.viewed"),
  );
  result["retentionCohorts, 12 weeks of cohorts x 8 weeks"] = await timed(RUNS, () =>
    insights.retentionCohorts(db.orm.em.fork(), { from: new Date(now.getTime() - 12 * 7 * DAY), to: now }, 8),
  );
  log(`${size} events: ${JSON.stringify(result)}`);
  return result;
}

async function main() {
  const url = new URL(POSTGRES);
  url.pathname = `/orion_bench_analytics_${process.pid}`;
  const db = await openDatabase({
    url: url.toString(),
    entities: subgraphEntities(analyticsSubgraph),
    migrations: subgraphMigrations(analyticsSubgraph),
    logger,
    contextName: "analytics",
    poolMax: CONCURRENCY + 8,
  });
  try {
    const ingest = await ingestion(db);
    const scales: unknown[] = [];
    let seeded = Number(
      (await db.orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from events`))[0]!.n,
    );
    for (const size of SIZES) {
      const add = size - seeded;
      if (add > 0) {
        const started = performance.now();
        // In slices, so one transaction never holds millions of rows of temporary tables.
        for (let left = add; left > 0; left -= 1_000_000) {
          const events = Math.min(left, 1_000_000);
          await seedEvents(db.orm.em.fork(), { events, days: 365, seed: (left % 1000) / 1000 });
        }
        const seconds = (performance.now() - started) / 1000;
        log(`seeded ${add} events in ${seconds.toFixed(0)} s`);
        await db.orm.em.getConnection().execute(`vacuum analyze`);
        seeded = size;
      }
      scales.push(await insightsAt(db, size));
    }
    const result = {
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
      },
      settings: {
        concurrency: CONCURRENCY,
        ingestSeconds: INGEST_SECONDS,
        runs: RUNS,
        baselineRuns: BASELINE_RUNS,
      },
      ingestion: ingest,
      scales,
    };
    const dir = path.join(PROJECT_ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "analytics.json");
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`written to ${path.relative(process.cwd(), file)}`);
  } finally {
    await db.close();
    await dropDatabase(url.toString());
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

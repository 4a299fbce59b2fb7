import "reflect-metadata";

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { PROJECT_ROOT } from "../../platform/paths";
import { REAL_SERVICES } from "../../test/support/services";
import { startTestSupergraph } from "../../test/support/supergraph-fixture";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy";
import { client, registerUser } from "./chaos/clients";
import { chaos, type Fault, type Target } from "./chaos/faults";
import { printTable, verify } from "./chaos/verify";

// `npm run bench:chaos`: the benchmark's mixed traffic (sign-ups, logins, refreshes, reads,
// tracking) for CHAOS_SECONDS (default 600) while a chaos loop cuts, stalls and slows Redis, each
// subgraph's PostgreSQL and RabbitMQ at random, through TCP proxies on loopback. Clients behave as
// ORION asks them to: every mutation carries an Idempotency-Key and is retried with it after
// SERVICE_UNAVAILABLE. Then it checks every answer against the databases: what a client was told
// succeeded is there once, what it was told failed left nothing, every event had its effects once.
// Writes bench/results/chaos.json and prints the table of docs/benchmarks.md. Not in CI (it runs for minutes).
//
// The pieces: chaos/clients.ts (the traffic), chaos/ledger.ts (what clients were told),
// chaos/faults.ts (the chaos loop and recovery probes), chaos/verify.ts (the check and the table).

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 600);
const CLIENTS = Number(process.env.CHAOS_CLIENTS ?? 8);

async function main(): Promise<void> {
  const redis = new URL(REAL_SERVICES.redis.url);
  const postgres = new URL(REAL_SERVICES.postgres.url);
  const amqp = new URL(REAL_SERVICES.rabbitmq.url);
  const proxies = new Map<Target, TcpProxy>();
  proxies.set("redis", await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) }));
  proxies.set("rabbitmq", await startTcpProxy({ host: amqp.hostname, port: Number(amqp.port || 5672) }));
  for (const name of SUBGRAPH_NAMES)
    proxies.set(
      `postgres:${name}`,
      await startTcpProxy({ host: postgres.hostname, port: Number(postgres.port || 5432) }),
    );
  const amqpUrl = new URL(REAL_SERVICES.rabbitmq.url);
  amqpUrl.hostname = "127.0.0.1";
  amqpUrl.port = String(proxies.get("rabbitmq")!.port);
  const env = await startTestSupergraph("services", {
    redisUrl: `redis://127.0.0.1:${proxies.get("redis")!.port}`,
    amqpUrl: amqpUrl.toString(),
    databasePorts: Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => [name, proxies.get(`postgres:${name}`)!.port]),
    ) as Record<SubgraphName, number>,
    auth: { bcryptCost: 8 },
    outbox: { maxBackoffMs: 1_000 },
    mailDispatch: { sweepIntervalMs: 1_000, orphanAfterMs: 10_000 },
    logLevel: process.env.LOG_LEVEL ?? "silent",
  });
  console.log(`chaos soak: ${SECONDS} s, ${CLIENTS} clients, router ${env.supergraph.routerUrl}`);
  const until = Date.now() + SECONDS * 1000;
  const faults: Fault[] = [];
  try {
    const probe = await registerUser(env);
    if (!probe) throw new Error("could not register the probe user before the chaos");
    await Promise.all([
      ...Array.from({ length: CLIENTS }, () => client(env, until)),
      chaos(env, proxies, until, probe, faults),
    ]);
    for (const proxy of proxies.values()) proxy.restore();
    console.log("traffic over; waiting for the event pipeline to drain");
    const report = await verify(env, faults, { seconds: SECONDS, clients: CLIENTS });
    const dir = path.join(PROJECT_ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "chaos.json"), `${JSON.stringify(report, null, 2)}\n`);
    printTable(report);
    if (report.lost + report.duplicated + report.successesNotDurable + report.failuresLeftBehind > 0)
      process.exitCode = 1;
  } finally {
    await env.stop();
    for (const proxy of proxies.values()) await proxy.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

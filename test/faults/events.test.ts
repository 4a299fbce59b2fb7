import { Registry } from "prom-client";
import { z } from "zod";

import { type Database, dropDatabase, openDatabase } from "../../platform/database/database";
import { defineEvent } from "../../platform/events/event-bus";
import { createEventMetrics } from "../../platform/events/event-metrics";
import { EVENT_TABLE_MIGRATIONS, EVENT_TABLES } from "../../platform/events/event-tables";
import { stageEvent } from "../../platform/events/outbox";
import { RegisterDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { PASSWORD } from "../support/identity";
import { databaseUrl, describeWithServices, runId } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";
import { startTcpProxy } from "../support/tcp-proxy";
import { amqpTarget, logger, viaProxy } from "./support";

// Faults on real RabbitMQ and PostgreSQL, bounded in time: the broker unreachable while users
// register, and the database unreachable while Prometheus scrapes the outbox gauges (a consumer's
// faults: event-consumers.test.ts).

describeWithServices(["postgres", "redis", "rabbitmq"], "event faults", () => {
  describe("the broker is unreachable while 200 users register", () => {
    let env: TestSupergraph;
    let proxy: Awaited<ReturnType<typeof startTcpProxy>>;

    beforeAll(async () => {
      const { url, target } = amqpTarget();
      proxy = await startTcpProxy(target);
      env = await startTestSupergraph("services", {
        amqpUrl: viaProxy(url, proxy.port),
        outbox: { maxBackoffMs: 500 },
        // This test is about events: cheap hashes keep 200 registrations from taking a minute on 2 cores.
        auth: { bcryptCost: 4 },
      });
    }, 60_000);

    afterAll(async () => {
      await env?.stop();
      await proxy?.close();
    });

    it("completes every flow after the broker is back: no event lost, no e-mail twice", async () => {
      proxy.cut();
      await eventually(async () => expect(env.supergraph.bus.isHealthy()).toBe(false));
      const emails = Array.from({ length: 200 }, (_, i) => `outage-${i}-${process.pid}@example.com`);
      let next = 0;
      const ids: string[] = [];
      // Eight clients at a time; registrations commit without the broker (the outbox holds their events).
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < emails.length) {
            const email = emails[next++]!;
            const response = await env.request(RegisterDocument, {
              input: { email, password: PASSWORD, displayName: "Outage" },
            });
            expect(response.errors).toBeUndefined();
            ids.push(response.data!.register.user.id);
          }
        }),
      );
      const pending = await env.supergraph.subgraphs.auth.relay.backlog();
      expect(pending).toBeGreaterThanOrEqual(400); // registered + verification requested, per user
      proxy.restore();

      await eventually(
        async () => {
          const profiles = await env.supergraph.subgraphs.user.db.orm.em
            .fork()
            .getConnection()
            .execute<{ count: string }[]>("select count(*) from profiles where display_name = 'Outage'");
          expect(Number(profiles[0]!.count)).toBe(200);
          const welcomes = env.mailbox.messages().filter((m) => m.raw.includes("Welcome to ORION"));
          expect(welcomes.filter((m) => m.to.startsWith("outage-")).length).toBe(200);
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      expect(await env.supergraph.subgraphs.auth.relay.backlog()).toBe(0);
      // Settle, then count: a duplicate arriving late would show here.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const outage = env.mailbox.messages().filter((m) => m.to.startsWith("outage-"));
      const welcomed = outage.filter((m) => m.raw.includes("Welcome to ORION")).map((m) => m.to);
      expect(welcomed).toHaveLength(200);
      expect(new Set(welcomed).size).toBe(200);
      const verifications = outage
        .filter((m) => m.raw.includes("Confirm your e-mail address"))
        .map((m) => m.to);
      expect(verifications).toHaveLength(200);
      expect(new Set(verifications).size).toBe(200);
      // Analytics has its own queue (two events per registration): it may still be catching up.
      await eventually(
        async () => {
          const tracked = await env.supergraph.subgraphs.analytics.db.orm.em
            .fork()
            .getConnection()
            .execute<{ name: string; count: string }[]>(
              `select name, count(*) from events where user_id = any(?::uuid[]) group by name order by name`,
              [`{${ids.join(",")}}`],
            );
          expect(tracked.map((row) => [row.name, Number(row.count)])).toEqual([
            ["auth.email_verification_requested", 200],
            ["user.registered", 200],
          ]);
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    }, 120_000);

    it("reports each subgraph not ready while its broker is away (Kubernetes stops routing to it), ready again after", async () => {
      const readiness = async () =>
        Object.fromEntries(
          await Promise.all(
            Object.entries(env.supergraph.subgraphs).map(async ([name, service]) => {
              const response = await fetch(`http://127.0.0.1:${service.port}/ready`);
              const body = (await response.json()) as { checks: Record<string, boolean> };
              return [name, { status: response.status, bus: body.checks.bus }] as const;
            }),
          ),
        );
      const all = (status: number, bus: boolean) =>
        Object.fromEntries(
          ["auth", "user", "notification", "analytics"].map((name) => [name, { status, bus }]),
        );
      expect(await readiness()).toEqual(all(200, true));
      proxy.cut();
      await eventually(async () => expect(await readiness()).toEqual(all(503, false)), { timeoutMs: 30_000 });
      // The router keeps serving (decision 002): it stays ready.
      expect((await fetch(`http://127.0.0.1:${env.supergraph.router.port}/ready`)).status).toBe(200);
      proxy.restore();
      await eventually(async () => expect(await readiness()).toEqual(all(200, true)), { timeoutMs: 30_000 });
    }, 90_000);
  });

  describe("the database stops answering while Prometheus scrapes", () => {
    const id = runId();
    const url = databaseUrl(`orion_test_${id}_gauges`);
    let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
    let db: Database;

    beforeAll(async () => {
      const target = new URL(url);
      // Created (with the event tables) directly, then opened again through a proxy the test can stall.
      const direct = await openDatabase({
        url,
        entities: EVENT_TABLES,
        migrations: EVENT_TABLE_MIGRATIONS,
        logger,
        contextName: "gauges-setup",
      });
      await direct.close();
      proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      db = await openDatabase({
        url: viaProxy(target, proxy.port),
        entities: EVENT_TABLES,
        migrations: EVENT_TABLE_MIGRATIONS,
        logger,
        contextName: "gauges",
      });
    }, 30_000);

    afterAll(async () => {
      proxy?.restore();
      await db?.close();
      await proxy?.close();
      await dropDatabase(url);
    });

    it("still answers /metrics within seconds, the outbox gauges at their last value", async () => {
      const Tick = defineEvent("test.gauges", 1, z.object({ n: z.number().int() }));
      const registry = new Registry();
      const metrics = createEventMetrics(registry, { db, knownTypes: [Tick.type] });
      metrics.published(Tick.type);
      const em = db.orm.em.fork();
      stageEvent(em, Tick, { n: 1 }, { producer: "test", correlationId: "c" });
      stageEvent(em, Tick, { n: 2 }, { producer: "test", correlationId: "c" });
      await em.flush();
      const backlog = (text: string) => /^orion_outbox_backlog (\S+)$/m.exec(text)?.[1];

      expect(backlog(await registry.metrics())).toBe("2");
      // The two gauges of one scrape share one reading, dropped on the next turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));

      proxy.stall();
      const started = performance.now();
      const text = await registry.metrics();
      const seconds = (performance.now() - started) / 1000;
      // Bounded by the gauges' 2 s deadline, not by the database; the query did wait for it.
      expect(seconds).toBeGreaterThan(1.5);
      expect(seconds).toBeLessThan(10);
      expect(backlog(text)).toBe("2");
      expect(text).toMatch(/^orion_events_published_total\{type="test\.gauges"\} 1$/m);
      proxy.restore();
    }, 30_000);
  });
});

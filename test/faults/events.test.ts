import { Registry } from "prom-client";
import { z } from "zod";
import { dropDatabase, openDatabase, type Database } from "../../platform/database/database";
import { consumer, inboxSubscription, on } from "../../platform/events/consumer";
import { createEnvelope, defineEvent } from "../../platform/events/event-bus";
import { createEventMetrics } from "../../platform/events/event-metrics";
import { stageEvent } from "../../platform/events/outbox";
import { EVENT_TABLES, EVENT_TABLE_MIGRATIONS } from "../../platform/events/event-tables";
import { RabbitMqEventBus } from "../../platform/events/rabbitmq-bus";
import { createLogger } from "../../platform/logger";
import { RegisterDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { PASSWORD } from "../support/identity";
import {
  databaseUrl,
  deleteRabbitMqObjects,
  describeWithServices,
  REAL_SERVICES,
  runId,
} from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";
import { startTcpProxy } from "../support/tcp-proxy";

// Faults on real RabbitMQ and PostgreSQL, bounded in time: the broker unreachable while users
// register, and a consumer that loses its connection after its effect committed but before its ack.

const logger = createLogger("test", process.env.TEST_LOG_LEVEL ?? "silent");
const amqpTarget = () => {
  const url = new URL(REAL_SERVICES.rabbitmq.url);
  return { url, target: { host: url.hostname, port: Number(url.port || 5672) } };
};
const viaProxy = (url: URL, port: number) => {
  const proxied = new URL(url.toString());
  proxied.hostname = "127.0.0.1";
  proxied.port = String(port);
  return proxied.toString();
};

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

  describe("the consumer's database is unreachable for a while", () => {
    const Tick = defineEvent("test.db-outage", 1, z.object({ n: z.number().int() }));
    const id = runId();
    const exchange = `orion.test.${id}`;
    const url = databaseUrl(`orion_test_${id}_dboutage`);
    let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
    let db: Database;
    let bus: RabbitMqEventBus;

    beforeAll(async () => {
      // Created directly, then opened again through a proxy the test can cut.
      const direct = await openDatabase({
        url,
        entities: EVENT_TABLES,
        migrations: EVENT_TABLE_MIGRATIONS,
        logger,
        contextName: "dboutage-setup",
      });
      await direct.orm.em.getConnection().execute("create table effects (n integer not null)");
      await direct.close();
      const target = new URL(url);
      proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      const proxied = new URL(url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(proxy.port);
      db = await openDatabase({
        url: proxied.toString(),
        entities: EVENT_TABLES,
        migrations: EVENT_TABLE_MIGRATIONS,
        logger,
        contextName: "dboutage",
      });
      bus = await RabbitMqEventBus.connect({ url: REAL_SERVICES.rabbitmq.url, exchange, logger });
    }, 30_000);

    afterAll(async () => {
      await bus?.close();
      await db?.close();
      await proxy?.close();
      await dropDatabase(url);
      await deleteRabbitMqObjects(exchange, ["test.db-outage"]);
    });

    it("waits for the database instead of burning retries, then has the effect once", async () => {
      const attempts: number[] = [];
      const failures: string[] = [];
      const inboxed = inboxSubscription(
        consumer("test.db-outage", [
          on(
            Tick,
            async ({ n }, { em }) => void (await em.execute("insert into effects (n) values (?)", [n])),
          ),
        ]),
        { db, producer: "test", logger },
      );
      const unsubscribe = await bus.subscribe({
        ...inboxed,
        retry: { delaysMs: [50] }, // a counted failure would dead-letter after two attempts
        handler: async (event, delivery) => {
          attempts.push(delivery?.attempt ?? 0);
          try {
            await inboxed.handler(event, delivery);
          } catch (error) {
            failures.push(error instanceof Error ? error.message : String(error));
            throw error;
          }
        },
      });
      try {
        proxy.cut();
        await bus.publish(createEnvelope(Tick, { n: 1 }, { producer: "test" }));
        await eventually(async () => expect(attempts).toHaveLength(1));
        await new Promise((resolve) => setTimeout(resolve, 1500));
        proxy.restore();
        await eventually(
          async () => {
            const rows = await db.orm.em
              .fork()
              .getConnection()
              .execute<{ n: number }[]>("select n from effects");
            expect(rows).toEqual([{ n: 1 }]);
          },
          { timeoutMs: 20_000 },
        );
        expect({ attempts, failures }).toEqual({ attempts: [1], failures: [] });
        expect(await bus.deadLetters("test.db-outage")).toEqual([]);
      } finally {
        await unsubscribe();
      }
    }, 60_000);
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

  describe("a consumer loses its connection after the effect committed, before the ack", () => {
    const Tick = defineEvent("test.tick", 1, z.object({ n: z.number().int() }));
    const id = runId();
    const exchange = `orion.test.${id}`;
    const url = databaseUrl(`orion_test_${id}_faults`);
    let db: Database;
    let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
    let bus: RabbitMqEventBus;
    let publisher: RabbitMqEventBus;

    beforeAll(async () => {
      db = await openDatabase({
        url,
        entities: EVENT_TABLES,
        migrations: EVENT_TABLE_MIGRATIONS,
        logger,
        contextName: "faults",
      });
      await db.orm.em.getConnection().execute("create table effects (n integer not null)");
      const { url: amqp, target } = amqpTarget();
      proxy = await startTcpProxy(target);
      bus = await RabbitMqEventBus.connect({
        url: viaProxy(amqp, proxy.port),
        exchange,
        logger,
        heartbeatSeconds: 1,
      });
      publisher = await RabbitMqEventBus.connect({ url: amqp.toString(), exchange, logger });
    }, 30_000);

    afterAll(async () => {
      await bus?.close();
      await publisher?.close();
      await proxy?.close();
      await db?.close();
      await dropDatabase(url);
      await deleteRabbitMqObjects(exchange, ["test.effects"]);
    });

    it("has its effect exactly once: the redelivery finds the event in the inbox", async () => {
      let runs = 0;
      let deliveries = 0;
      const inboxed = inboxSubscription(
        consumer("test.effects", [
          on(Tick, async ({ n }, { em, afterCommit }) => {
            runs++;
            await em.execute("insert into effects (n) values (?)", [n]);
            // The effect is committed; the connection dies before the bus can ack.
            afterCommit(async () => {
              if (runs === 1) proxy.cut();
            });
          }),
        ]),
        { db, producer: "test", logger },
      );
      // Counts deliveries: the inbox stops the second one before the handler body runs.
      const unsubscribe = await bus.subscribe({
        ...inboxed,
        handler: async (event, delivery) => {
          deliveries++;
          await inboxed.handler(event, delivery);
        },
      });
      try {
        await publisher.publish(createEnvelope(Tick, { n: 7 }, { producer: "test" }));
        await eventually(async () => expect(runs).toBe(1));
        await eventually(async () => expect(bus.isHealthy()).toBe(false));
        proxy.restore();
        // Redelivered after the reconnect: the inbox recognises it and the effect does not run again.
        await eventually(
          async () => {
            expect(deliveries).toBe(2);
            const [row] = await db.orm.em
              .fork()
              .getConnection()
              .execute<{ count: string }[]>("select count(*) from inbox_events where queue = 'test.effects'");
            expect(Number(row!.count)).toBe(1);
            expect(bus.isHealthy()).toBe(true);
          },
          { timeoutMs: 15_000 },
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
        const effects = await db.orm.em
          .fork()
          .getConnection()
          .execute<{ n: number }[]>("select n from effects");
        expect(effects).toEqual([{ n: 7 }]);
        expect(runs).toBe(1);
      } finally {
        await unsubscribe();
      }
    }, 60_000);
  });
});

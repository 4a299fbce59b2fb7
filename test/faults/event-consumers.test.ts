import { z } from "zod";

import { type Database, dropDatabase, openDatabase } from "../../platform/database/database";
import { consumer, inboxSubscription, on } from "../../platform/events/consumer";
import { createEnvelope, defineEvent } from "../../platform/events/event-bus";
import { EVENT_TABLE_MIGRATIONS, EVENT_TABLES } from "../../platform/events/event-tables";
import { RabbitMqEventBus } from "../../platform/events/rabbitmq-bus";
import { eventually } from "../support/async";
import {
  databaseUrl,
  deleteRabbitMqObjects,
  describeWithServices,
  REAL_SERVICES,
  runId,
} from "../support/services";
import { startTcpProxy } from "../support/tcp-proxy";
import { amqpTarget, logger, viaProxy } from "./support";

// A consumer on real RabbitMQ and PostgreSQL when its database is unreachable for a while, and when it
// loses its broker connection after its effect committed but before its ack: the effect lands once.

describeWithServices(["postgres", "redis", "rabbitmq"], "event faults", () => {
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

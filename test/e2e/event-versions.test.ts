import { z } from "zod";

import { type Database, dropDatabase, openDatabase } from "../../platform/database/database";
import { consumer, inboxSubscription, on } from "../../platform/events/consumer";
import { createEnvelope, defineEvent } from "../../platform/events/event-bus";
import { EVENT_TABLE_MIGRATIONS, EVENT_TABLES } from "../../platform/events/event-tables";
import { RabbitMqEventBus } from "../../platform/events/rabbitmq-bus";
import { createLogger } from "../../platform/logger";
import { eventually } from "../support/async";
import {
  databaseUrl,
  deleteRabbitMqObjects,
  describeWithServices,
  REAL_SERVICES,
  runId,
} from "../support/services";

/**
 * Moving an event to a new version without losing any: consumers first handle both versions, then
 * the producer switches, then the old handler goes. A queue is bound by type, so it receives every
 * version; each is validated against its own schema and handled by its own handler, and a version
 * no handler takes is dead-lettered at once.
 */

const logger = createLogger("test", process.env.TEST_LOG_LEVEL ?? "silent");
const TYPE = "test.versioned";
const V1 = defineEvent(TYPE, 1, z.object({ name: z.string() }));
const V2 = defineEvent(TYPE, 2, z.object({ firstName: z.string(), lastName: z.string() }));
const V3 = defineEvent(TYPE, 3, z.object({ fullName: z.string() }));

describeWithServices(["postgres", "rabbitmq"], "event versions", () => {
  const id = runId();
  const exchange = `orion.test.${id}`;
  const url = databaseUrl(`orion_test_${id}_versions`);
  const queue = `test.versioned.${id}`;
  let db: Database;
  let bus: RabbitMqEventBus;

  beforeAll(async () => {
    db = await openDatabase({
      url,
      entities: EVENT_TABLES,
      migrations: EVENT_TABLE_MIGRATIONS,
      logger,
      contextName: "versions",
    });
    bus = await RabbitMqEventBus.connect({ url: REAL_SERVICES.rabbitmq.url, exchange, logger });
  }, 30_000);

  afterAll(async () => {
    await bus?.close();
    await db?.close();
    await dropDatabase(url);
    await deleteRabbitMqObjects(exchange, [queue]);
  });

  it("handles v1 and v2 of one type on one queue, each by its own handler, and dead-letters v3", async () => {
    const names: string[] = [];
    const spec = consumer(queue, [
      on(V1, async ({ name }) => void names.push(`v1 ${name}`)),
      on(V2, async ({ firstName, lastName }) => void names.push(`v2 ${firstName} ${lastName}`)),
    ]);
    expect(spec.eventTypes).toEqual([TYPE]);
    const unsubscribe = await bus.subscribe({
      ...inboxSubscription(spec, { db, producer: "test", logger }),
      retry: { delaysMs: [50] },
    });
    try {
      await bus.publish(createEnvelope(V1, { name: "Ada Lovelace" }, { producer: "test" }));
      await bus.publish(createEnvelope(V2, { firstName: "Grace", lastName: "Hopper" }, { producer: "test" }));
      const future = createEnvelope(V3, { fullName: "Alan Turing" }, { producer: "test" });
      await bus.publish(future);
      // A v2 envelope with a v1 payload fails v2's schema: versions are not interchangeable.
      const mislabelled = { ...createEnvelope(V1, { name: "Edsger" }, { producer: "test" }), version: 2 };
      await bus.publish(mislabelled);

      await eventually(async () => expect(await bus.deadLetters(queue)).toHaveLength(2));
      expect(names.sort()).toEqual(["v1 Ada Lovelace", "v2 Grace Hopper"]);
      const dead = await bus.deadLetters(queue);
      expect(dead.find((letter) => letter.id === future.id)?.reason).toMatch(
        /version 3 is not a handled version \(1, 2\)/,
      );
      expect(dead.find((letter) => letter.id === mislabelled.id)?.reason).toMatch(/firstName/);
      expect(dead.every((letter) => letter.attempts === 1)).toBe(true);
    } finally {
      await unsubscribe();
    }
  }, 30_000);
});

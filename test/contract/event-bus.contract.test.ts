import amqp, { type ChannelModel } from "amqplib";
import { z, ZodError } from "zod";
import {
  createEnvelope,
  defineEvent,
  handle,
  subscription,
  EventUnroutable,
  UnknownQueue,
  type DeadLetter,
  type DeliveryInfo,
  type EventBus,
  type EventEnvelope,
  type PayloadOf,
  type RetryPolicy,
} from "../../platform/events/event-bus";
import { InProcessEventBus } from "../../platform/events/in-process-bus";
import { RabbitMqEventBus } from "../../platform/events/rabbitmq-bus";
import { createLogger } from "../../platform/logger";
import {
  deleteRabbitMqObjects,
  describeWithServices,
  REAL_SERVICES,
  runId,
  type RealService,
} from "../support/services";
import { eventually, gate } from "../support/async";

// One specification, every EventBus: the in-process bus a laptop runs is only trustworthy because
// it passes the same tests as RabbitMQ.

const logger = createLogger("test", "silent");
const RUN = runId();
// Each run publishes to its own exchange, so parallel or aborted runs never see each other's events.
const EXCHANGE = `orion.test.${RUN}`;

const OrderPlaced = defineEvent(
  "test.order.placed",
  1,
  z.object({
    orderId: z.string(),
    amount: z.number().int().positive(),
    items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
  }),
);
const OrderCancelled = defineEvent("test.order.cancelled", 1, z.object({ orderId: z.string() }));

function placed(orderId: string): EventEnvelope<PayloadOf<typeof OrderPlaced>> {
  return createEnvelope(
    OrderPlaced,
    { orderId, amount: 4200, items: [{ sku: "crème-brûlée", quantity: 2 }] },
    { producer: "contract-test" },
  );
}

/** Readable in a failure message, unlike the envelope's UUID. */
const orderIdOf = (event: EventEnvelope) => (event.payload as { orderId: string }).orderId;

/** Retries in milliseconds rather than minutes: the policy is the subscription's, the behaviour the bus's. */
const FAST_RETRY: RetryPolicy = { delaysMs: [50, 100] };

interface BusAdapter {
  name: string;
  services: readonly RealService[];
  /** A bus whose subscriptions retry after `retry` unless they set their own (FAST_RETRY by default). */
  open(options?: { retry?: RetryPolicy }): Promise<EventBus>;
  /** Puts a body on the wire as any producer could, envelope or not, routed as event type `routingKey`. */
  publishRaw(bus: EventBus, routingKey: string, body: string): Promise<void>;
  /** Removes what the run left behind on a broker; `queues` are the subscription queue names used. */
  cleanup(queues: readonly string[]): Promise<void>;
}

/** A producer that does not use the bus: a connection of the test's own, opened on first use. */
let rawProducer: ChannelModel | undefined;

const adapters: BusAdapter[] = [
  {
    name: InProcessEventBus.name,
    services: [],
    open: async ({ retry = FAST_RETRY } = {}) => new InProcessEventBus(logger, { retry }),
    publishRaw: async (bus, routingKey, body) => (bus as InProcessEventBus).publishRaw(routingKey, body),
    cleanup: async () => undefined,
  },
  {
    name: RabbitMqEventBus.name,
    services: ["rabbitmq"],
    open: ({ retry = FAST_RETRY } = {}) =>
      RabbitMqEventBus.connect({ url: REAL_SERVICES.rabbitmq.url, exchange: EXCHANGE, logger, retry }),
    publishRaw: async (_bus, routingKey, body) => {
      rawProducer ??= await amqp.connect(REAL_SERVICES.rabbitmq.url);
      const channel = await rawProducer.createConfirmChannel();
      channel.publish(EXCHANGE, routingKey, Buffer.from(body), { persistent: true });
      await channel.waitForConfirms();
      await channel.close();
    },
    cleanup: async (queues: readonly string[]) => {
      await rawProducer?.close();
      await deleteRabbitMqObjects(EXCHANGE, queues);
    },
  },
];

/** Dead letters without the parts that vary from run to run, for comparing whole lists. */
const withoutTimes = (entries: DeadLetter[]) => entries.map(({ deadAt: _deadAt, ...rest }) => rest);

describe("createEnvelope", () => {
  test("refuses a payload that fails the event's schema, so an invalid event is never published", () => {
    const invalid = { orderId: "o-1", amount: -5, items: [] };
    expect(() => createEnvelope(OrderPlaced, invalid, { producer: "contract-test" })).toThrow(ZodError);
  });
});

for (const adapter of adapters) {
  describeWithServices(adapter.services, adapter.name, () => {
    const opened: EventBus[] = [];
    const queues: string[] = [];

    afterEach(async () => {
      for (const bus of opened.splice(0)) await bus.close();
    });
    afterAll(() => adapter.cleanup(queues));

    async function setup(options?: { retry?: RetryPolicy }) {
      const bus = await adapter.open(options);
      opened.push(bus);
      // Durable broker queues outlive a test: every test gets queue names no other test uses.
      const queue = (purpose: string) => {
        const name = `${purpose}-${queues.length}`;
        queues.push(name);
        return name;
      };
      /** Subscribes and records every event the handler is given, before `onEvent` runs. */
      const consume = async (
        name: string,
        eventTypes: readonly string[],
        onEvent: (event: EventEnvelope) => Promise<void> = async () => undefined,
      ) => {
        const received: EventEnvelope[] = [];
        await bus.subscribe({
          queue: name,
          eventTypes,
          handler: async (event) => {
            received.push(event);
            await onEvent(event);
          },
        });
        return received;
      };
      return { bus, queue, consume };
    }

    test("a published event reaches a subscribed queue exactly as it was sent", async () => {
      const { bus, queue, consume } = await setup();
      const received = await consume(queue("intact"), [OrderPlaced.type]);
      const event = createEnvelope(
        OrderPlaced,
        { orderId: "o-1", amount: 1999, items: [{ sku: "ünïcødé ✓", quantity: 3 }] },
        { producer: "contract-test", correlationId: "corr-1" },
      );

      await bus.publish(event);

      await eventually(() => expect(received).toHaveLength(1));
      expect(received[0]).toEqual(event);
    });

    test("an event's W3C trace context travels with it; a malformed one is dropped", async () => {
      const { bus, queue, consume } = await setup();
      const received = await consume(queue("traced"), [OrderPlaced.type]);
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      const traced = { ...placed("o-t1"), traceparent };
      const forged = { ...placed("o-t2"), traceparent: "00-not-a-trace\n<script>" };

      await bus.publish(traced);
      await bus.publish(forged);

      await eventually(() => expect(received).toHaveLength(2));
      expect(received[0]).toEqual(traced);
      const { traceparent: _malformed, ...withoutTrace } = forged;
      expect(received[1]).toEqual(withoutTrace);
      expect("traceparent" in received[1]!).toBe(false);
    });

    test("every queue bound to an event type gets its own copy: one handler's changes are invisible to another", async () => {
      const { bus, queue, consume } = await setup();
      const billing = await consume(queue("billing"), [OrderPlaced.type], async (event) => {
        (event.payload as { orderId: string }).orderId = "changed by billing";
      });
      const shipping = await consume(queue("shipping"), [OrderPlaced.type]);
      const event = placed("o-2");
      const asSent = structuredClone(event);

      await bus.publish(event);

      await eventually(() => {
        expect(billing).toHaveLength(1);
        expect(shipping).toHaveLength(1);
      });
      expect(shipping[0]).toEqual(asSent);
      expect(event).toEqual(asSent);
    });

    test("a queue does not receive event types it did not bind", async () => {
      const { bus, queue, consume } = await setup();
      const received = await consume(queue("placed-only"), [OrderPlaced.type]);
      const cancelled = createEnvelope(OrderCancelled, { orderId: "o-3" }, { producer: "contract-test" });
      const event = placed("o-3");

      // No queue binds `cancelled`: refused (a producer's outbox keeps it), never silently dropped.
      await expect(bus.publish(cancelled)).rejects.toThrow(EventUnroutable);
      await bus.publish(event);

      // Delivery is in publish order, so a wrongly routed `cancelled` would arrive before `event`.
      await eventually(() => expect(received.length).toBeGreaterThan(0));
      expect(received).toEqual([event]);
    });

    test("a handler that fails is given the event again after each delay, with its attempt number", async () => {
      const { bus, queue } = await setup();
      const name = queue("flaky");
      const event = placed("flaky");
      const attempts: { attempt: number | undefined; at: number }[] = [];
      await bus.subscribe({
        queue: name,
        eventTypes: [OrderPlaced.type],
        retry: { delaysMs: [100, 300] },
        handler: async (_event, delivery?: DeliveryInfo) => {
          attempts.push({ attempt: delivery?.attempt, at: Date.now() });
          if (attempts.length < 3) throw new Error("database is restarting");
        },
      });

      await bus.publish(event);

      await eventually(() => expect(attempts).toHaveLength(3));
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      // Increasing delays between attempts, not a hot requeue loop (a little slack for timer granularity).
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(90);
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(290);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(attempts).toHaveLength(3); // it succeeded: no further delivery
      expect(await bus.deadLetters(name)).toEqual([]);
    });

    test("a handler that keeps failing: the event is dead-lettered after the last retry with its reason, while later events still arrive", async () => {
      const { bus, queue, consume } = await setup();
      const failing = queue("failing");
      const bystander = queue("bystander");
      const poison = placed("poison");
      const later = placed("later");
      const handled: string[] = [];
      const poisonAttempts: number[] = [];
      await bus.subscribe({
        queue: failing,
        eventTypes: [OrderPlaced.type],
        retry: { delaysMs: [200, 200] },
        handler: async (event, delivery) => {
          if (event.id === poison.id) {
            poisonAttempts.push(delivery!.attempt);
            throw new Error("cannot process this order");
          }
          handled.push(orderIdOf(event));
        },
      });
      const bystanderReceived = await consume(bystander, [OrderPlaced.type]);
      const before = Date.now();

      await bus.publish(poison);
      await bus.publish(later);

      // The queue kept flowing: the later event was handled while the poison one waited for its retry.
      await eventually(() => expect(handled).toEqual(["later"]));
      expect(poisonAttempts).toEqual([1]);
      await eventually(async () => expect(await bus.deadLetters(failing)).toHaveLength(1));
      expect(poisonAttempts).toEqual([1, 2, 3]);
      const [dead] = await bus.deadLetters(failing);
      expect(dead).toEqual({
        id: poison.id,
        type: OrderPlaced.type,
        event: poison,
        body: JSON.stringify(poison),
        reason: "cannot process this order",
        attempts: 3,
        deadAt: expect.any(String),
      });
      expect(Date.parse(dead!.deadAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(dead!.deadAt)).toBeLessThanOrEqual(Date.now() + 1000);
      // Reading dead letters is an inspection, not a drain: they are still there the second time.
      expect(await bus.deadLetters(failing)).toEqual([dead]);
      // The failure belongs to the queue whose handler failed; other queues got and kept the event.
      await eventually(() => expect(bystanderReceived).toHaveLength(2));
      expect(await bus.deadLetters(bystander)).toEqual([]);
      expect(handled).toEqual(["later"]);
    });

    test("a message that is not JSON or not an event envelope is dead-lettered at once with its reason; the consumer goes on", async () => {
      const { bus, queue, consume } = await setup();
      const name = queue("malformed");
      const received = await consume(name, [OrderPlaced.type]);
      const valid = placed("valid");

      await adapter.publishRaw(bus, OrderPlaced.type, "{ this is not json");
      await adapter.publishRaw(bus, OrderPlaced.type, JSON.stringify({ hello: "world" }));
      await bus.publish(valid);

      await eventually(() => expect(received).toEqual([valid]));
      await eventually(async () => expect(await bus.deadLetters(name)).toHaveLength(2));
      expect(withoutTimes(await bus.deadLetters(name))).toEqual([
        {
          id: expect.any(String),
          type: OrderPlaced.type,
          event: null,
          body: "{ this is not json",
          reason: expect.stringMatching(/not JSON/),
          attempts: 1,
        },
        {
          id: expect.any(String),
          type: OrderPlaced.type,
          event: null,
          body: '{"hello":"world"}',
          reason: expect.stringMatching(/not an ORION event envelope/),
          attempts: 1,
        },
      ]);
    });

    test("an event of a type or version the queue does not handle is dead-lettered at once, without retries", async () => {
      const { bus, queue } = await setup({ retry: { delaysMs: [60_000] } });
      const name = queue("unknown");
      const seen: string[] = [];
      await bus.subscribe(
        subscription(name, [
          handle(OrderPlaced, async (payload) => {
            seen.push(payload.orderId);
          }),
        ]),
      );
      const nextVersion: EventEnvelope = { ...placed("v2"), version: 2 };
      // Routed as an order placed (a producer's mistake), but a type this queue has no handler for.
      const otherType = { ...placed("other"), type: "test.order.refunded" };
      const valid = placed("valid");

      await bus.publish(nextVersion);
      await adapter.publishRaw(bus, OrderPlaced.type, JSON.stringify(otherType));
      await bus.publish(valid);

      await eventually(() => expect(seen).toEqual(["valid"]));
      // With a 60 s retry delay, only an immediate dead-lettering gets them there in time.
      await eventually(async () => expect(await bus.deadLetters(name)).toHaveLength(2));
      const [versionDead, typeDead] = await bus.deadLetters(name);
      expect(versionDead).toMatchObject({ event: nextVersion, attempts: 1 });
      expect(versionDead!.reason).toMatch(/version 2 is not the handled version 1/);
      expect(typeDead).toMatchObject({ event: otherType, type: "test.order.refunded", attempts: 1 });
      expect(typeDead!.reason).toMatch(/does not handle event type test\.order\.refunded/);
    });

    test("a single consumer gets its queue's events one at a time, in the order they were published", async () => {
      const { bus, queue } = await setup();
      const events = Array.from({ length: 6 }, (_, i) => placed(`o-${i}`));
      const started: string[] = [];
      const finished: string[] = [];
      let running = 0;
      let mostAtOnce = 0;
      await bus.subscribe({
        queue: queue("ordered"),
        eventTypes: [OrderPlaced.type],
        handler: async (event) => {
          started.push(orderIdOf(event));
          running++;
          mostAtOnce = Math.max(mostAtOnce, running);
          // A handler doing I/O; the first is the slowest, so overlapping deliveries would finish out of order.
          await new Promise((resolve) => setTimeout(resolve, event.id === events[0]!.id ? 50 : 5));
          running--;
          finished.push(orderIdOf(event));
        },
      });

      for (const event of events) await bus.publish(event);

      await eventually(() => expect(finished).toHaveLength(events.length));
      expect(started).toEqual(events.map(orderIdOf));
      expect(finished).toEqual(events.map(orderIdOf));
      expect(mostAtOnce).toBe(1);
    });

    test("events published while the handler is still busy are all delivered once it finishes", async () => {
      const { bus, queue } = await setup();
      const release = gate();
      let busy = false;
      const handled: string[] = [];
      await bus.subscribe({
        queue: queue("busy"),
        eventTypes: [OrderPlaced.type],
        handler: async (event) => {
          if (!busy) {
            busy = true;
            await release.opened;
          }
          handled.push(orderIdOf(event));
        },
      });
      const [first, ...rest] = Array.from({ length: 5 }, (_, i) => placed(`o-${i}`));

      await bus.publish(first!);
      await eventually(() => expect(busy).toBe(true));
      for (const event of rest) await bus.publish(event);
      release.open();

      const all = [first!, ...rest].map(orderIdOf);
      await eventually(() => expect([...handled].sort()).toEqual([...all].sort()));
    });

    test("unsubscribing waits for the handler in flight; later events wait in the queue for the next consumer", async () => {
      const { bus, queue } = await setup();
      const name = queue("handover");
      const release = gate();
      const first: string[] = [];
      let inFlightFinished = false;
      const unsubscribe = await bus.subscribe({
        queue: name,
        eventTypes: [OrderPlaced.type],
        handler: async (event) => {
          first.push(orderIdOf(event));
          await release.opened;
          inFlightFinished = true;
        },
      });
      await bus.publish(placed("o-0"));
      await eventually(() => expect(first).toEqual(["o-0"]));

      let stopped = false;
      const stopping = unsubscribe().then(() => {
        stopped = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const stoppedBeforeRelease = stopped;
      release.open();
      await stopping;
      expect(stoppedBeforeRelease).toBe(false); // it waited for the handler, whose database must stay open
      expect(inFlightFinished).toBe(true);

      await bus.publish(placed("o-1"));
      const second: string[] = [];
      await bus.subscribe({
        queue: name,
        eventTypes: [OrderPlaced.type],
        handler: async (event) => {
          second.push(orderIdOf(event));
        },
      });
      await eventually(() => expect(second).toEqual(["o-1"]));
      expect(first).toEqual(["o-0"]);
    });

    test("an event whose payload fails its schema is dead-lettered and never reaches the typed handler", async () => {
      const { bus, queue } = await setup();
      const name = queue("validated");
      const seen: PayloadOf<typeof OrderPlaced>[] = [];
      await bus.subscribe(
        subscription(name, [
          handle(OrderPlaced, async (payload) => {
            seen.push(payload);
          }),
        ]),
      );
      // What a producer on an outdated schema would send: createEnvelope refuses it, the wire does not.
      const invalid: EventEnvelope = {
        ...placed("invalid"),
        payload: { orderId: "invalid", amount: "12.50" },
      };
      const valid = placed("valid");

      await bus.publish(invalid);
      await bus.publish(valid);

      await eventually(() => expect(seen).toEqual([valid.payload]));
      await eventually(async () =>
        expect((await bus.deadLetters(name)).map((dead) => dead.event)).toEqual([invalid]),
      );
      const [dead] = await bus.deadLetters(name);
      expect(dead!.attempts).toBe(1); // a payload that fails its schema never will pass: no retries
      expect(dead!.reason).toMatch(/InvalidEventPayload: [\s\S]*amount/);
    });

    test("replaying dead letters puts them back on their queue with the attempt count reset; the others stay", async () => {
      const { bus, queue } = await setup({ retry: { delaysMs: [] } });
      const name = queue("replay");
      let broken = true;
      const handled: { orderId: string; attempt: number }[] = [];
      await bus.subscribe({
        queue: name,
        eventTypes: [OrderPlaced.type],
        handler: async (event, delivery) => {
          if (broken) throw new Error("mail server down");
          handled.push({ orderId: orderIdOf(event), attempt: delivery!.attempt });
        },
      });
      const events = ["r-0", "r-1", "r-2"].map(placed);
      for (const event of events) await bus.publish(event);
      await eventually(async () => expect(await bus.deadLetters(name)).toHaveLength(3));
      broken = false;

      expect(await bus.replayDeadLetters(name, [events[1]!.id, "no-such-id"])).toBe(1);

      await eventually(() => expect(handled).toEqual([{ orderId: "r-1", attempt: 1 }]));
      expect((await bus.deadLetters(name)).map((dead) => dead.id)).toEqual([events[0]!.id, events[2]!.id]);

      expect(await bus.replayDeadLetters(name)).toBe(2);

      await eventually(() => expect(handled.map((h) => h.orderId).sort()).toEqual(["r-0", "r-1", "r-2"]));
      expect(handled.every((h) => h.attempt === 1)).toBe(true);
      expect(await bus.deadLetters(name)).toEqual([]);
      expect(await bus.replayDeadLetters(name)).toBe(0);
    });

    test("dead letters of a queue nothing ever declared: UnknownQueue, not an empty list", async () => {
      const { bus } = await setup();
      await expect(bus.deadLetters(`never-declared-${RUN}`)).rejects.toThrow(UnknownQueue);
      await expect(bus.replayDeadLetters(`never-declared-${RUN}`)).rejects.toThrow(UnknownQueue);
      expect(bus.isHealthy()).toBe(true); // the refusal broke nothing
    });

    test("a closed bus reports unhealthy and refuses to publish", async () => {
      const { bus } = await setup();
      expect(bus.isHealthy()).toBe(true);

      await bus.close();

      expect(bus.isHealthy()).toBe(false);
      await expect(bus.publish(placed("too-late"))).rejects.toThrow();
    });
  });
}

describeWithServices(["rabbitmq"], "RabbitMqEventBus message properties", () => {
  test("carry the event's traceparent in the AMQP headers, for tools that read only those", async () => {
    const exchange = `${EXCHANGE}.headers`;
    const bus = await RabbitMqEventBus.connect({ url: REAL_SERVICES.rabbitmq.url, exchange, logger });
    const connection = await amqp.connect(REAL_SERVICES.rabbitmq.url);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue("", { exclusive: true });
      await channel.bindQueue(queue, exchange, OrderPlaced.type);
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      await bus.publish({ ...placed("o-h1"), traceparent });
      const message = await eventually(async () => {
        const got = await channel.get(queue, { noAck: true });
        if (!got) throw new Error("not delivered yet");
        return got;
      });
      expect(message.properties.headers?.traceparent).toBe(traceparent);
    } finally {
      await bus.close();
      await connection.close();
      await deleteRabbitMqObjects(exchange, []);
    }
  });
});

import { z, ZodError } from "zod";
import {
  createEnvelope,
  defineEvent,
  handle,
  subscription,
  type EventBus,
  type EventEnvelope,
  type PayloadOf,
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

interface BusAdapter {
  name: string;
  services: readonly RealService[];
  open(): Promise<EventBus>;
  /** Removes what the run left behind on a broker; `queues` are the subscription queue names used. */
  cleanup(queues: readonly string[]): Promise<void>;
}

const adapters: BusAdapter[] = [
  {
    name: InProcessEventBus.name,
    services: [],
    open: async () => new InProcessEventBus(logger),
    cleanup: async () => undefined,
  },
  {
    name: RabbitMqEventBus.name,
    services: ["rabbitmq"],
    open: () => RabbitMqEventBus.connect({ url: REAL_SERVICES.rabbitmq.url, exchange: EXCHANGE, logger }),
    cleanup: (queues: readonly string[]) => deleteRabbitMqObjects(EXCHANGE, queues),
  },
];

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

    async function setup() {
      const bus = await adapter.open();
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

      await bus.publish(cancelled);
      await bus.publish(event);

      // Delivery is in publish order, so a wrongly routed `cancelled` would arrive before `event`.
      await eventually(() => expect(received.length).toBeGreaterThan(0));
      expect(received).toEqual([event]);
    });

    test("a failing handler dead-letters that event, and later events on the queue still arrive", async () => {
      const { bus, queue, consume } = await setup();
      const failing = queue("failing");
      const bystander = queue("bystander");
      const poison = placed("poison");
      const later = placed("later");
      const handled: string[] = [];
      await bus.subscribe({
        queue: failing,
        eventTypes: [OrderPlaced.type],
        handler: async (event) => {
          if (event.id === poison.id) throw new Error("cannot process this order");
          handled.push(orderIdOf(event));
        },
      });
      const bystanderReceived = await consume(bystander, [OrderPlaced.type]);

      await bus.publish(poison);
      await bus.publish(later);

      await eventually(() => expect(handled).toEqual(["later"]));
      await eventually(async () => expect(await bus.deadLetters(failing)).toEqual([poison]));
      // Reading dead letters is an inspection, not a drain: they are still there the second time.
      expect(await bus.deadLetters(failing)).toEqual([poison]);
      // The failure belongs to the queue whose handler failed; other queues got and kept the event.
      await eventually(() => expect(bystanderReceived).toHaveLength(2));
      expect(await bus.deadLetters(bystander)).toEqual([]);
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
      await eventually(async () => expect(await bus.deadLetters(name)).toEqual([invalid]));
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

import amqp from "amqplib";
import { ZodError } from "zod";

import { createEnvelope, EventUnroutable } from "../../platform/events/event-bus";
import { RabbitMqEventBus } from "../../platform/events/rabbitmq-bus";
import { eventually, gate } from "../support/async";
import { deleteRabbitMqObjects, describeWithServices, REAL_SERVICES } from "../support/services";
import {
  BUS_ADAPTERS,
  busSetup,
  EXCHANGE,
  logger,
  OrderCancelled,
  orderIdOf,
  OrderPlaced,
  placed,
} from "./event-buses";

// Publishing and delivery (retries and dead letters: event-bus-dead-letters.contract.test.ts).

describe("createEnvelope", () => {
  test("refuses a payload that fails the event's schema, so an invalid event is never published", () => {
    const invalid = { orderId: "o-1", amount: -5, items: [] };
    expect(() => createEnvelope(OrderPlaced, invalid, { producer: "contract-test" })).toThrow(ZodError);
  });
});

for (const adapter of BUS_ADAPTERS) {
  describeWithServices(adapter.services, adapter.name, () => {
    const setup = busSetup(adapter);

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

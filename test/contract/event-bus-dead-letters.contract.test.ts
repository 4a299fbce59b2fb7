import {
  type DeliveryInfo,
  type EventEnvelope,
  handle,
  type PayloadOf,
  subscription,
  UnknownQueue,
} from "../../platform/events/event-bus";
import { eventually } from "../support/async";
import { describeWithServices } from "../support/services";
import { BUS_ADAPTERS, busSetup, orderIdOf, OrderPlaced, placed, RUN, withoutTimes } from "./event-buses";

// Retries, dead letters and their replay.

for (const adapter of BUS_ADAPTERS) {
  describeWithServices(adapter.services, adapter.name, () => {
    const setup = busSetup(adapter);

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
  });
}

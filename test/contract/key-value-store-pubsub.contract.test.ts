import { MemoryKeyValueStore } from "../../platform/store/memory-store";
import { eventually } from "../support/async";
import { describeWithServices } from "../support/services";
import { logger, STORE_ADAPTERS, storeSetup } from "./key-value-stores";

for (const adapter of STORE_ADAPTERS) {
  describeWithServices(adapter.services, adapter.name, () => {
    const setup = storeSetup(adapter);

    describe("pub/sub", () => {
      test("a listener receives the messages published on its channel, in order, and no others", async () => {
        const { store, key } = await setup();
        const news = key("news");
        const received: string[] = [];
        await store.subscribe(news, (message) => received.push(message));

        await store.publish(key("other-channel"), "not for us");
        for (const message of ["one", "two", "three"]) await store.publish(news, message);

        await eventually(() => expect(received).toEqual(["one", "two", "three"]));
      });

      test("every subscription receives each message, and an unsubscribed listener no more", async () => {
        const { store, key } = await setup();
        const news = key("news");
        const first: string[] = [];
        const second: string[] = [];
        const twice: string[] = [];
        const recordTwice = (message: string) => twice.push(message);
        const unsubscribeFirst = await store.subscribe(news, (message) => first.push(message));
        await store.subscribe(news, (message) => second.push(message));
        // The same function subscribed twice is two subscriptions.
        await store.subscribe(news, recordTwice);
        const unsubscribeTwice = await store.subscribe(news, recordTwice);

        await store.publish(news, "before");
        // Delivery may lag publish (Redis): a message still on its way when a listener
        // unsubscribes is not delivered to it.
        await eventually(() =>
          expect([first, second, twice]).toEqual([["before"], ["before"], ["before", "before"]]),
        );
        await unsubscribeFirst();
        await unsubscribeFirst(); // harmless
        await unsubscribeTwice();
        await store.publish(news, "after");

        // Messages on one channel arrive in order: once "after" is in, "before" was delivered too.
        await eventually(() => expect(second).toEqual(["before", "after"]));
        expect(first).toEqual(["before"]);
        expect(twice).toEqual(["before", "before", "after"]);
      });

      test("a message published while nobody listens is not delivered to a later subscriber", async () => {
        const { store, key } = await setup();
        const news = key("news");
        await store.publish(news, "too early");
        const received: string[] = [];
        await store.subscribe(news, (message) => received.push(message));

        await store.publish(news, "in time");

        await eventually(() => expect(received).toEqual(["in time"]));
      });

      test("a listener that throws neither fails publish nor keeps the message from other listeners", async () => {
        const { store, key } = await setup();
        const news = key("news");
        const received: string[] = [];
        await store.subscribe(news, () => {
          throw new Error("listener bug");
        });
        await store.subscribe(news, (message) => received.push(message));

        await store.publish(news, "one");
        await store.publish(news, "two");

        await eventually(() => expect(received).toEqual(["one", "two"]));
      });
    });
  });
}

describe("MemoryKeyValueStore pub/sub", () => {
  test("every listener has been called by the time publish resolves", async () => {
    const store = new MemoryKeyValueStore({ logger });
    const received: string[] = [];
    await store.subscribe("news", (message) => received.push(message));

    await store.publish("news", "now");

    expect(received).toEqual(["now"]);
    await store.close();
  });
});

import { RateLimiterRes } from "rate-limiter-flexible";
import { createLogger } from "../../platform/logger";
import type { KeyValueStore } from "../../platform/store/key-value-store";
import { MemoryKeyValueStore } from "../../platform/store/memory-store";
import { RedisKeyValueStore } from "../../platform/store/redis-store";
import { describeWithServices, REAL_SERVICES, runId, type RealService } from "../support/services";
import { eventually } from "../support/async";

// One specification, every KeyValueStore: sessions, one-time codes and rate limits behave the same
// on a laptop's memory store as on Redis.

const logger = createLogger("test", "silent");
const RUN = runId();
// Each run owns a key prefix on the shared Redis, so runs never read each other's keys.
const PREFIX = `test:${RUN}:`;

interface StoreAdapter {
  name: string;
  services: readonly RealService[];
  open(): Promise<KeyValueStore>;
  /** Removes what the run left in a server; called once the store is no longer used by the tests. */
  cleanup(): Promise<void>;
}

const connectRedis = (prefix: string) =>
  RedisKeyValueStore.connect({ url: REAL_SERVICES.redis.url, prefix, logger });

const adapters: StoreAdapter[] = [
  {
    name: MemoryKeyValueStore.name,
    services: [],
    open: async () => new MemoryKeyValueStore({ logger }),
    cleanup: async () => undefined,
  },
  {
    name: RedisKeyValueStore.name,
    services: ["redis"],
    open: () => connectRedis(PREFIX),
    cleanup: async () => {
      const store = await connectRedis(PREFIX);
      await store.clear();
      await store.close();
    },
  },
];

for (const adapter of adapters) {
  describeWithServices(adapter.services, adapter.name, () => {
    const opened: KeyValueStore[] = [];
    let keys = 0;

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });
    afterAll(() => adapter.cleanup());

    async function setup() {
      const store = await adapter.open();
      opened.push(store);
      // A key no other test uses, readable in a failure message.
      const key = (purpose: string) => `${purpose}:${keys++}`;
      return { store, key };
    }

    test("a value set is read back, and reads null once deleted", async () => {
      const { store, key } = await setup();
      const session = key("session");

      expect(await store.set(session, "alice")).toBe(true);
      expect(await store.get(session)).toBe("alice");
      expect(await store.set(session, "bob")).toBe(true);
      expect(await store.get(session)).toBe("bob");

      expect(await store.delete(session, key("never-set"))).toBe(1);
      expect(await store.get(session)).toBeNull();
      expect(await store.delete(session)).toBe(0);
    });

    test("set with onlyIfAbsent keeps the first value and reports that it wrote nothing", async () => {
      const { store, key } = await setup();
      const lock = key("lock");

      expect(await store.set(lock, "first", { onlyIfAbsent: true })).toBe(true);
      expect(await store.set(lock, "second", { onlyIfAbsent: true })).toBe(false);

      expect(await store.get(lock)).toBe("first");
    });

    test("set with onlyIfPresent updates a live key and never brings back a deleted one", async () => {
      const { store, key } = await setup();
      const session = key("session");

      expect(await store.set(session, "ghost", { onlyIfPresent: true })).toBe(false);
      expect(await store.get(session)).toBeNull();
      await store.set(session, "v1", { ttlSeconds: 60 });
      expect(await store.set(session, "v2", { onlyIfPresent: true, ttlSeconds: 60 })).toBe(true);
      expect(await store.get(session)).toBe("v2");
      await store.delete(session);
      expect(await store.set(session, "v3", { onlyIfPresent: true })).toBe(false);
      expect(await store.get(session)).toBeNull();
    });

    test("a key and a set with a TTL disappear once it has passed", async () => {
      const { store, key } = await setup();
      const code = key("one-time-code");
      const members = key("online");
      await store.set(code, "123456", { ttlSeconds: 1 });
      await store.setAdd(members, "alice", { ttlSeconds: 1 });
      expect(await store.get(code)).toBe("123456");
      expect(await store.setMembers(members)).toEqual(["alice"]);

      await eventually(
        async () => {
          expect(await store.get(code)).toBeNull();
          expect(await store.setMembers(members)).toEqual([]);
        },
        { timeoutMs: 3000, intervalMs: 100 },
      );
      expect(await store.ttl(code)).toBeNull();
      // An expired key is absent: onlyIfAbsent may claim it again.
      expect(await store.set(code, "654321", { onlyIfAbsent: true })).toBe(true);
    });

    test("ttl reports the seconds left, and null for a key that never expires or does not exist", async () => {
      const { store, key } = await setup();
      const expiring = key("expiring");
      const forever = key("forever");
      await store.set(expiring, "v", { ttlSeconds: 60 });
      await store.set(forever, "v");

      const left = await store.ttl(expiring);
      expect(left).toBeGreaterThanOrEqual(59);
      expect(left).toBeLessThanOrEqual(60);
      expect(await store.ttl(forever)).toBeNull();
      expect(await store.ttl(key("missing"))).toBeNull();
    });

    test("setting a key again without a TTL makes it permanent", async () => {
      const { store, key } = await setup();
      const name = key("rewritten");
      await store.set(name, "v1", { ttlSeconds: 60 });

      await store.set(name, "v2");

      expect(await store.ttl(name)).toBeNull();
    });

    test("take returns the value once and removes it", async () => {
      const { store, key } = await setup();
      const code = key("code");
      await store.set(code, "123456");

      expect(await store.take(code)).toBe("123456");
      expect(await store.take(code)).toBeNull();
      expect(await store.get(code)).toBeNull();
    });

    test("of 20 concurrent takes of one key, exactly one gets the value", async () => {
      const { store, key } = await setup();
      const code = key("contended");
      await store.set(code, "redeem-me");

      const results = await Promise.all(Array.from({ length: 20 }, () => store.take(code)));

      expect(results.filter((value) => value !== null)).toEqual(["redeem-me"]);
    });

    test("adding a member twice keeps one copy, and removed members are gone", async () => {
      const { store, key } = await setup();
      const sessions = key("sessions");

      await store.setAdd(sessions, "s1");
      await store.setAdd(sessions, "s2");
      await store.setAdd(sessions, "s1");
      expect((await store.setMembers(sessions)).sort()).toEqual(["s1", "s2"]);

      await store.setRemove(sessions, "s1");
      await store.setRemove(sessions, "not-a-member");
      expect(await store.setMembers(sessions)).toEqual(["s2"]);

      await store.setRemove(sessions, "s2");
      expect(await store.setMembers(sessions)).toEqual([]);
      expect(await store.setMembers(key("never-added"))).toEqual([]);
    });

    test("adding a member without a TTL keeps the set's expiry", async () => {
      const { store, key } = await setup();
      const sessions = key("expiring-sessions");
      await store.setAdd(sessions, "s1", { ttlSeconds: 60 });

      await store.setAdd(sessions, "s2");

      const left = await store.ttl(sessions);
      expect(left).toBeGreaterThanOrEqual(59);
      expect(left).toBeLessThanOrEqual(60);
    });

    test("adding members without a TTL does not postpone the set's expiry", async () => {
      const { store, key } = await setup();
      const sessions = key("busy-sessions");
      await store.setAdd(sessions, "first", { ttlSeconds: 1 });

      // Keep adding while waiting: the set must still expire one second after it was created.
      let added = 0;
      await eventually(
        async () => {
          await store.setAdd(sessions, `later-${added++}`);
          expect(await store.setMembers(sessions)).not.toContain("first");
        },
        { timeoutMs: 3000, intervalMs: 100 },
      );
    });

    test("hash increments add up per field, across calls, and read back as decimal strings", async () => {
      const { store, key } = await setup();
      const usage = key("usage");
      expect(await store.hashGetAll(usage)).toEqual(new Map());

      await store.hashIncrement(
        usage,
        new Map([
          ["User.email", 2],
          ['["web","1.0","Query.me"]', 1],
        ]),
      );
      await store.hashIncrement(
        usage,
        new Map([
          ["User.email", 3],
          ["__proto__", 4],
        ]),
      );
      await store.hashIncrement(usage, new Map());

      expect(await store.hashGetAll(usage)).toEqual(
        new Map([
          ["User.email", "5"],
          ['["web","1.0","Query.me"]', "1"],
          ["__proto__", "4"],
        ]),
      );
    });

    test("a hash with a TTL expires, and increments without one keep its expiry", async () => {
      const { store, key } = await setup();
      const usage = key("usage-day");
      await store.hashIncrement(usage, new Map([["a", 1]]), { ttlSeconds: 60 });
      await store.hashIncrement(usage, new Map([["b", 1]]));
      const left = await store.ttl(usage);
      expect(left).toBeGreaterThanOrEqual(59);
      expect(left).toBeLessThanOrEqual(60);

      await store.hashIncrement(usage, new Map([["a", 1]]), { ttlSeconds: 1 });
      await eventually(async () => expect(await store.hashGetAll(usage)).toEqual(new Map()), {
        timeoutMs: 3000,
        intervalMs: 100,
      });
    });

    test("ping answers true while the store is open", async () => {
      const { store } = await setup();
      expect(await store.ping()).toBe(true);
    });

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

    describe("rate limiters", () => {
      test("a key gets its points, then is rejected with the time until the next one", async () => {
        const { store, key } = await setup();
        const limiter = store.rateLimiter({ name: key("login"), points: 3, durationSeconds: 60 });

        for (let i = 0; i < 3; i++) await limiter.consume("alice");
        const rejection: unknown = await limiter.consume("alice").catch((error: unknown) => error);

        expect(rejection).toBeInstanceOf(RateLimiterRes);
        const res = rejection as RateLimiterRes;
        expect(res.remainingPoints).toBe(0);
        expect(res.msBeforeNext).toBeGreaterThan(0);
        expect(res.msBeforeNext).toBeLessThanOrEqual(60_000);
        // Another key has its own points.
        await expect(limiter.consume("bob")).resolves.toBeInstanceOf(RateLimiterRes);
      });

      test("of 20 concurrent consumes on 5 points, exactly 5 succeed", async () => {
        const { store, key } = await setup();
        const limiter = store.rateLimiter({ name: key("burst"), points: 5, durationSeconds: 60 });

        const results = await Promise.allSettled(Array.from({ length: 20 }, () => limiter.consume("alice")));

        expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(5);
        for (const result of results.filter((r) => r.status === "rejected")) {
          expect((result as PromiseRejectedResult).reason).toBeInstanceOf(RateLimiterRes);
        }
      });

      test("delete resets a key's counter", async () => {
        const { store, key } = await setup();
        const limiter = store.rateLimiter({ name: key("reset"), points: 1, durationSeconds: 60 });
        await limiter.consume("alice");
        await expect(limiter.consume("alice")).rejects.toBeInstanceOf(RateLimiterRes);

        await limiter.delete("alice");

        await expect(limiter.consume("alice")).resolves.toBeInstanceOf(RateLimiterRes);
      });

      test("limiters with different names count apart; one name is one limiter", async () => {
        const { store, key } = await setup();
        const loginName = key("login");
        const login = store.rateLimiter({ name: loginName, points: 1, durationSeconds: 60 });
        const signup = store.rateLimiter({ name: key("signup"), points: 1, durationSeconds: 60 });
        await login.consume("alice");

        await expect(signup.consume("alice")).resolves.toBeInstanceOf(RateLimiterRes);
        // Asking again for a name (say, per request) gives the same counters.
        const again = store.rateLimiter({ name: loginName, points: 1, durationSeconds: 60 });
        await expect(again.consume("alice")).rejects.toBeInstanceOf(RateLimiterRes);
        expect(() => store.rateLimiter({ name: loginName, points: 2, durationSeconds: 60 })).toThrow(
          /already exists/,
        );
      });

      test("with blockSeconds an exhausted key stays rejected for the block, not just the window", async () => {
        const { store, key } = await setup();
        const plain = store.rateLimiter({ name: key("plain"), points: 2, durationSeconds: 5 });
        const blocking = store.rateLimiter({
          name: key("blocking"),
          points: 2,
          durationSeconds: 5,
          blockSeconds: 60,
        });
        const exhaust = async (limiter: typeof plain) => {
          await limiter.consume("alice");
          await limiter.consume("alice");
          return (await limiter.consume("alice").catch((error: unknown) => error)) as RateLimiterRes;
        };

        const windowEnd = await exhaust(plain);
        const blocked = await exhaust(blocking);

        expect(windowEnd).toBeInstanceOf(RateLimiterRes);
        expect(windowEnd.remainingPoints).toBe(0);
        expect(windowEnd.msBeforeNext).toBeLessThanOrEqual(5000);
        expect(blocked).toBeInstanceOf(RateLimiterRes);
        expect(blocked.remainingPoints).toBe(0);
        expect(blocked.msBeforeNext).toBeGreaterThan(5000);
        expect(blocked.msBeforeNext).toBeLessThanOrEqual(60_000);
        await expect(blocking.consume("alice")).rejects.toBeInstanceOf(RateLimiterRes);
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

describeWithServices(["redis"], "RedisKeyValueStore prefixes", () => {
  const stores: RedisKeyValueStore[] = [];

  afterAll(async () => {
    for (const store of stores) {
      await store.clear();
      await store.close();
    }
  });

  async function setup() {
    const tenantA = await connectRedis(`${PREFIX}a:`);
    const tenantB = await connectRedis(`${PREFIX}b:`);
    stores.push(tenantA, tenantB);
    return { tenantA, tenantB };
  }

  test("two stores with different prefixes on one Redis never see or remove each other's keys", async () => {
    const { tenantA, tenantB } = await setup();
    await tenantA.set("session", "from-a");
    await tenantA.setAdd("members", "a1");
    await tenantA.hashIncrement("usage", new Map([["a", 1]]));

    expect(await tenantB.get("session")).toBeNull();
    expect(await tenantB.take("session")).toBeNull();
    expect(await tenantB.setMembers("members")).toEqual([]);
    expect(await tenantB.hashGetAll("usage")).toEqual(new Map());
    expect(await tenantB.set("session", "from-b", { onlyIfAbsent: true })).toBe(true);
    await tenantB.clear();

    expect(await tenantA.get("session")).toBe("from-a");
    expect(await tenantA.setMembers("members")).toEqual(["a1"]);
    expect(await tenantA.hashGetAll("usage")).toEqual(new Map([["a", "1"]]));
  });

  test("channels are prefixed too: a store hears its own prefix's messages from any connection, no other", async () => {
    const { tenantA, tenantB } = await setup();
    const alsoA = await connectRedis(`${PREFIX}a:`);
    stores.push(alsoA);
    const heardByB: string[] = [];
    const heardByA: string[] = [];
    await tenantB.subscribe("news", (message) => heardByB.push(message));
    await tenantA.subscribe("news", (message) => heardByA.push(message));

    await alsoA.publish("news", "from-a");
    await tenantB.publish("news", "from-b");
    await alsoA.publish("news", "a-again");

    // Redis runs one command at a time and a subscriber gets its messages in that order: had a
    // message crossed prefixes, it would be in these lists before the last one.
    await eventually(() => expect(heardByB).toEqual(["from-b"]));
    await eventually(() => expect(heardByA).toEqual(["from-a", "a-again"]));
  });

  test("rate limiters are prefixed: two prefixes never share counters, one prefix always does", async () => {
    const { tenantA, tenantB } = await setup();
    const alsoA = await connectRedis(`${PREFIX}a:`);
    stores.push(alsoA);
    const limit = { name: "login", points: 1, durationSeconds: 60 };
    await tenantA.rateLimiter(limit).consume("alice");

    await expect(tenantB.rateLimiter(limit).consume("alice")).resolves.toBeInstanceOf(RateLimiterRes);
    await expect(alsoA.rateLimiter(limit).consume("alice")).rejects.toBeInstanceOf(RateLimiterRes);
  });
});

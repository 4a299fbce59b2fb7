import { RateLimiterRes } from "rate-limiter-flexible";

import type { RedisKeyValueStore } from "../../platform/store/redis-store";
import { eventually } from "../support/async";
import { describeWithServices } from "../support/services";
import { connectRedis, PREFIX, STORE_ADAPTERS, storeSetup } from "./key-value-stores";

// Values, sets and their TTLs (pub/sub and rate limiters: the other key-value-store*.contract.test.ts).

for (const adapter of STORE_ADAPTERS) {
  describeWithServices(adapter.services, adapter.name, () => {
    const setup = storeSetup(adapter);

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
  });
}

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

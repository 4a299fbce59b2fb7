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
    open: async () => new MemoryKeyValueStore(),
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

    expect(await tenantB.get("session")).toBeNull();
    expect(await tenantB.take("session")).toBeNull();
    expect(await tenantB.setMembers("members")).toEqual([]);
    expect(await tenantB.set("session", "from-b", { onlyIfAbsent: true })).toBe(true);
    await tenantB.clear();

    expect(await tenantA.get("session")).toBe("from-a");
    expect(await tenantA.setMembers("members")).toEqual(["a1"]);
  });
});

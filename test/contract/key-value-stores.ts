import { createLogger } from "../../platform/logger";
import type { KeyValueStore } from "../../platform/store/key-value-store";
import { MemoryKeyValueStore } from "../../platform/store/memory-store";
import { RedisKeyValueStore } from "../../platform/store/redis-store";
import { REAL_SERVICES, type RealService, runId } from "../support/services";

// One specification, every KeyValueStore: sessions, one-time codes and rate limits behave the same
// on a laptop's memory store as on Redis. The key-value-store*.contract.test.ts files run their
// tests against each adapter here.

export const logger = createLogger("test", "silent");
const RUN = runId();
// Each run owns a key prefix on the shared Redis, so runs never read each other's keys.
export const PREFIX = `test:${RUN}:`;

export interface StoreAdapter {
  name: string;
  services: readonly RealService[];
  open(): Promise<KeyValueStore>;
  /** Removes what the run left in a server; called once the store is no longer used by the tests. */
  cleanup(): Promise<void>;
}

export const connectRedis = (prefix: string) =>
  RedisKeyValueStore.connect({ url: REAL_SERVICES.redis.url, prefix, logger });

export const STORE_ADAPTERS: StoreAdapter[] = [
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

/**
 * For the tests of one adapter (called inside its describe block): `setup()` opens a store, closed
 * after the test, and names keys no other test uses; the adapter cleans up after the last test.
 */
export function storeSetup(adapter: StoreAdapter) {
  const opened: KeyValueStore[] = [];
  let keys = 0;

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  afterAll(() => adapter.cleanup());

  return async function setup() {
    const store = await adapter.open();
    opened.push(store);
    // A key no other test uses, readable in a failure message.
    const key = (purpose: string) => `${purpose}:${keys++}`;
    return { store, key };
  };
}

import { RateLimiterRes } from "rate-limiter-flexible";
import { createClient } from "redis";

import { createLogger } from "../../platform/logger";
import { RedisKeyValueStore } from "../../platform/store/redis-store";
import { eventually } from "../support/async";
import { describeWithServices, REAL_SERVICES, runId } from "../support/services";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

// Redis going away must not hang callers: every operation fails at once while it is unreachable
// (so requests degrade instead of piling up), and the same store works again once it is back.
// The outage is a TCP proxy between the store and the real Redis, cut and restored.

const logger = createLogger("test", "silent");
const RUN = runId();
const PREFIX = `test:${RUN}:`;
const REDIS = new URL(REAL_SERVICES.redis.url);
/** How long an operation may take to fail while Redis is unreachable. */
const FAIL_FAST_MS = 1000;
/** Redis is back: the reconnect backoff (at most 5 s) plus the reconnection itself. */
const RECOVERY = { timeoutMs: 15_000, intervalMs: 100 };

type Outcome = { status: "fulfilled"; value: unknown } | { status: "rejected"; reason: unknown };

/** How the operation settled, failing the test if it has not within `ms`. */
async function settlesWithin(operation: () => Promise<unknown>, ms: number, what: string): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([
      operation().then(
        (value): Outcome => ({ status: "fulfilled", value }),
        (reason: unknown): Outcome => ({ status: "rejected", reason }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describeWithServices(["redis"], "RedisKeyValueStore while Redis is unreachable", () => {
  let proxy: TcpProxy;
  const stores: RedisKeyValueStore[] = [];

  beforeEach(async () => {
    proxy = await startTcpProxy({ host: REDIS.hostname, port: Number(REDIS.port || 6379) });
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await proxy.close();
  });

  afterAll(async () => {
    const direct = await connectDirect();
    await direct.clear();
    await direct.close();
  });

  async function connectThroughProxy(): Promise<RedisKeyValueStore> {
    const url = new URL(REAL_SERVICES.redis.url);
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    const store = await RedisKeyValueStore.connect({ url: url.toString(), prefix: PREFIX, logger });
    stores.push(store);
    return store;
  }

  /** A store on the same prefix that talks to Redis directly, unaffected by the outage. */
  async function connectDirect(): Promise<RedisKeyValueStore> {
    return RedisKeyValueStore.connect({ url: REAL_SERVICES.redis.url, prefix: PREFIX, logger });
  }

  test("every operation fails at once while it is cut, and the same store works again once it is back", async () => {
    const store = await connectThroughProxy();
    await store.set("session", "alice");
    await store.subscribe("news", () => undefined);
    const limiter = store.rateLimiter({ name: "login", points: 100, durationSeconds: 60 });
    await limiter.consume("alice");

    proxy.cut();

    // For three seconds of outage: right after the cut (commands may meet the dying connection),
    // then all along the client's reconnect loop, whose backoff soon leaves more than a second
    // between attempts (a command queued while offline, as node-redis does with MULTI and pub/sub
    // whatever disableOfflineQueue says, would fail only with the next failed attempt).
    const outageStart = Date.now();
    for (let round = 0; round === 0 || Date.now() - outageStart < 3000; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 150));
      const rejects = async (what: string, operation: () => Promise<unknown>) => {
        const outcome = await settlesWithin(operation, FAIL_FAST_MS, what);
        expect({ what, status: outcome.status }).toEqual({ what, status: "rejected" });
        return outcome.status === "rejected" ? outcome.reason : undefined;
      };
      expect(await settlesWithin(() => store.ping(), FAIL_FAST_MS, "ping")).toEqual({
        status: "fulfilled",
        value: false,
      });
      await rejects("get", () => store.get("session"));
      await rejects("set", () => store.set("session", "bob"));
      await rejects("delete", () => store.delete("session"));
      await rejects("take", () => store.take("session"));
      await rejects("ttl", () => store.ttl("session"));
      await rejects("setAdd", () => store.setAdd("members", "alice", { ttlSeconds: 60 }));
      await rejects("setRemove", () => store.setRemove("members", "alice"));
      await rejects("setMembers", () => store.setMembers("members"));
      await rejects("hashIncrement", () =>
        store.hashIncrement("usage", new Map([["a", 1]]), { ttlSeconds: 60 }),
      );
      await rejects("hashGetAll", () => store.hashGetAll("usage"));
      await rejects("publish", () => store.publish("news", "lost"));
      await rejects("subscribe", () => store.subscribe("other-news", () => undefined));
      // A store failure, not a limit: callers must be able to tell them apart.
      const failure = await rejects("rate limiter consume", () => limiter.consume("alice"));
      expect(failure).toBeInstanceOf(Error);
      expect(failure).not.toBeInstanceOf(RateLimiterRes);
      await rejects("rate limiter get", () => limiter.get("alice"));
    }

    proxy.restore();

    await eventually(async () => {
      expect(await store.ping()).toBe(true);
      expect(await store.get("session")).toBe("alice");
    }, RECOVERY);
    expect(await store.set("session", "bob")).toBe(true);
    await store.setAdd("members", "alice", { ttlSeconds: 60 });
    expect(await store.setMembers("members")).toEqual(["alice"]);
    await store.hashIncrement("usage", new Map([["a", 1]]), { ttlSeconds: 60 });
    expect(await store.hashGetAll("usage")).toEqual(new Map([["a", "1"]]));
    await expect(limiter.consume("alice")).resolves.toBeInstanceOf(RateLimiterRes);
  });

  test("a subscription receives messages again once Redis is back", async () => {
    const store = await connectThroughProxy();
    const direct = await connectDirect();
    stores.push(direct);
    const received: string[] = [];
    await store.subscribe("news", (message) => received.push(message));
    await direct.publish("news", "before");
    await eventually(() => expect(received).toEqual(["before"]));

    proxy.cut();
    await eventually(async () => expect(await store.ping()).toBe(false));
    proxy.restore();

    // Until node-redis has re-subscribed the new connection, messages are lost: keep publishing.
    let sent = 0;
    await eventually(async () => {
      await direct.publish("news", `after-${sent++}`);
      expect(received.some((message) => message.startsWith("after-"))).toBe(true);
    }, RECOVERY);
    // And the subscription was not doubled by the re-subscription.
    const marker = "exactly-once";
    await direct.publish("news", marker);
    await direct.publish("news", "last");
    await eventually(() => expect(received.at(-1)).toBe("last"));
    expect(received.filter((message) => message === marker)).toHaveLength(1);
  });

  test("unsubscribing while Redis is unreachable returns at once and takes effect on the server once it is back", async () => {
    const store = await connectThroughProxy();
    const direct = await connectDirect();
    stores.push(direct);
    const channel = "left-behind";
    const received: string[] = [];
    const unsubscribe = await store.subscribe(channel, (message) => received.push(message));
    const sentinel: string[] = [];
    await store.subscribe("sentinel", (message) => sentinel.push(message));
    const raw = createClient({ url: REAL_SERVICES.redis.url });
    raw.on("error", () => undefined);
    await raw.connect();
    try {
      const subscribers = async () => (await raw.pubSubNumSub(PREFIX + channel))[PREFIX + channel];
      expect(await subscribers()).toBe(1);

      proxy.cut();
      await eventually(async () => expect(await store.ping()).toBe(false));
      expect(await settlesWithin(unsubscribe, FAIL_FAST_MS, "unsubscribe")).toEqual({
        status: "fulfilled",
        value: undefined,
      });
      proxy.restore();

      // The subscriber connection is back (and re-subscribed to both channels) once the
      // sentinel hears again; the server lost the subscription with the old connection, so
      // only from here does "no subscriber" prove the UNSUBSCRIBE was retried.
      let sent = 0;
      await eventually(async () => {
        await direct.publish("sentinel", `ping-${sent++}`);
        expect(sentinel.length).toBeGreaterThan(0);
      }, RECOVERY);
      await eventually(async () => expect(await subscribers()).toBe(0));
      await direct.publish(channel, "after");
      expect(received).toEqual([]);
    } finally {
      await raw.close();
    }
  });

  test("close finishes while Redis is unreachable", async () => {
    const store = await connectThroughProxy();
    await store.subscribe("news", () => undefined);
    proxy.cut();
    await eventually(async () => expect(await store.ping()).toBe(false));

    const outcome = await settlesWithin(() => store.close(), FAIL_FAST_MS, "close");

    expect(outcome.status).toBe("fulfilled");
    await expect(store.get("session")).rejects.toThrow();
  });
});

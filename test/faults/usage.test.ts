import { exportUsage } from "../../router/usage/usage-export";
import { eventually } from "../support/async";
import { rawDocument } from "../support/identity";
import { scrape, total } from "../support/prometheus";
import { describeWithServices } from "../support/services";
import { connectTestRedis, startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";
import { type RedisProxy, startRedisProxy } from "../support/tcp-proxy";

// Redis cut, slow and restarted empty under the router's usage recording (decision 011): every
// request is answered as if nothing happened, the counts wait in memory, and they reach Redis once
// it is back. Only the router's usage writes go through the proxy (with a budget longer than the
// faults): its other Redis traffic (rate limits, sessions, persisted queries) has fault tests of
// its own, and its short budgets would hide a wait that usage recording added to a request.

// Anonymous `me` executes (as null): a request that needs no session.
const ME = rawDocument("{ me { id } }");
const RECOVERY = { timeoutMs: 15_000, intervalMs: 100 };
const SLOWNESS_MS = 2_000;

describeWithServices(
  ["postgres", "redis", "rabbitmq"],
  "faults: Redis under the router's usage recording",
  () => {
    let env: TestSupergraph;
    let redisProxy: RedisProxy;

    beforeAll(async () => {
      redisProxy = await startRedisProxy();
      env = await startTestSupergraph("services", {
        routerUsageRedisUrl: redisProxy.url,
        usage: { flushIntervalMs: 200 },
        logLevel: process.env.DEBUG_LOG || "silent",
      });
      // The first operation plans its query and opens the subgraph connections: not what is timed.
      await send("warm-up", 1);
    }, 60_000);

    afterAll(async () => {
      await env?.stop();
      await redisProxy?.close();
    });

    afterEach(() => redisProxy.restore());

    /** `count` operations from `client` at once, each answered with its data; how long they all took. */
    async function send(client: string, count: number): Promise<number> {
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: count }, () =>
          env.request(ME, {}, { headers: { "apollographql-client-name": client } }),
        ),
      );
      for (const answer of answers) expect(answer).toEqual({ status: 200, data: { me: null } });
      return Date.now() - started;
    }

    /** What Redis holds for `client` today, read directly (not through the proxy). */
    async function usesOf(client: string): Promise<Record<string, number>> {
      const store = await connectTestRedis(env.redisPrefix!);
      try {
        const { file } = await exportUsage(store, { days: 1 });
        const coordinates = file.clients.find((entry) => entry.name === client)?.coordinates ?? {};
        return Object.fromEntries(Object.entries(coordinates).map(([name, { count }]) => [name, count]));
      } finally {
        await store.close();
      }
    }

    const metric = async (name: string, labels: Record<string, string> = {}) =>
      total(await scrape(`http://127.0.0.1:${env.supergraph.router.port}`), name, labels);

    it("answers every request while Redis is cut, keeps the counts in memory, and writes them exactly once it is back", async () => {
      const failedBefore = await metric("orion_router_usage_flushes_total", { result: "failed" });
      redisProxy.cut();
      await send("during-cut", 5);
      await eventually(async () => {
        expect(await metric("orion_router_usage_flushes_total", { result: "failed" })).toBeGreaterThan(
          failedBefore,
        );
        expect(await metric("orion_router_usage_pending_entries")).toBeGreaterThanOrEqual(2);
      }, RECOVERY);
      expect(await usesOf("during-cut")).toEqual({});

      redisProxy.restore();
      // Refused writes never reached Redis: nothing is counted twice.
      await eventually(
        async () => expect(await usesOf("during-cut")).toEqual({ "Query.me": 5, "User.id": 5 }),
        RECOVERY,
      );
      await eventually(
        async () => expect(await metric("orion_router_usage_pending_entries")).toBe(0),
        RECOVERY,
      );
      expect(await metric("orion_router_usage_dropped_total")).toBe(0);
    });

    it("holds no request while a usage write takes seconds, and its counts arrive", async () => {
      redisProxy.slow(SLOWNESS_MS);
      // Each write now takes two slowed trips: a request that waited for one would take that long.
      const took = [await send("during-slow", 1), await send("during-slow", 1), await send("during-slow", 1)];
      expect(took.sort((a, b) => a - b)[1]).toBeLessThan(SLOWNESS_MS / 2);
      expect(await send("during-slow", 10)).toBeLessThan(SLOWNESS_MS);
      await eventually(
        async () => expect(await usesOf("during-slow")).toEqual({ "Query.me": 13, "User.id": 13 }),
        RECOVERY,
      );
    });

    it("records into a Redis that restarted empty, without a restart of the router", async () => {
      await send("before-restart", 3);
      await eventually(
        async () => expect(await usesOf("before-restart")).toEqual({ "Query.me": 3, "User.id": 3 }),
        RECOVERY,
      );

      // What a restarted, empty Redis looks like to this run: every key under its prefix gone.
      const store = await connectTestRedis(env.redisPrefix!);
      await store.clear();
      await store.close();

      await send("after-restart", 2);
      await eventually(
        async () => expect(await usesOf("after-restart")).toEqual({ "Query.me": 2, "User.id": 2 }),
        RECOVERY,
      );
      expect(await usesOf("before-restart")).toEqual({});
    });
  },
);

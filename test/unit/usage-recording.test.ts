import { Registry } from "prom-client";

import { createLogger } from "../../platform/logger";
import { MemoryKeyValueStore } from "../../platform/store/memory-store";
import {
  clientFromHeaders,
  DailyClientAdmission,
  MAX_NAME_LENGTH,
  OTHER_CLIENT,
  UNKNOWN_CLIENT,
} from "../../router/usage/usage-clients";
import { dayChunks, UsageCounts } from "../../router/usage/usage-counts";
import {
  parseUsageField,
  usageField,
  usageKey,
  usageTtlSeconds,
  utcDay,
} from "../../router/usage/usage-keys";
import { createUsageMetrics } from "../../router/usage/usage-metrics";
import { FLUSH_CHUNK_FIELDS, UsageRecorder } from "../../router/usage/usage-recorder";
import { parseSamples, total } from "../support/prometheus";
import { describeWithServices, runId } from "../support/services";
import { connectTestRedis } from "../support/supergraph-fixture";

// What bounds the router's usage recording: hostile client names, a store that is down for long.

const logger = createLogger("test", "silent");
const web = { name: "web", version: "1.0" };
const field = (client: { name: string; version: string }, coordinate: string) =>
  usageField(client, coordinate);

describe("client names", () => {
  it("keep printable ASCII only, cut long names, and say unknown without a name", () => {
    expect(clientFromHeaders("web\u0000\n\u001b[31m", " 1.2\r\n")).toEqual({
      name: "web[31m",
      version: "1.2",
    });
    expect(clientFromHeaders("x".repeat(10_000), "v").name).toHaveLength(MAX_NAME_LENGTH);
    expect(clientFromHeaders(undefined, "1.0")).toBe(UNKNOWN_CLIENT);
    expect(clientFromHeaders("\u0007\u0008", "1.0")).toBe(UNKNOWN_CLIENT);
    expect(clientFromHeaders("ios", null)).toEqual({ name: "ios", version: "" });
  });

  it("admit a bounded number of distinct clients per day; the rest count as other until the next day", () => {
    const admission = new DailyClientAdmission(2);
    expect(admission.admit("2026-12-07", web)).toEqual(web);
    expect(admission.admit("2026-12-07", { name: "web", version: "2.0" })).toEqual({
      name: "web",
      version: "2.0",
    });
    for (let i = 0; i < 1_000; i++)
      expect(admission.admit("2026-12-07", { name: `bot-${i}`, version: "" })).toBe(OTHER_CLIENT);
    expect(admission.admit("2026-12-07", { ...web })).toEqual(web);
    expect(admission.admit("2026-12-07", UNKNOWN_CLIENT)).toBe(UNKNOWN_CLIENT);
    expect(admission.admit("2026-12-08", { name: "bot-1", version: "" })).toEqual({
      name: "bot-1",
      version: "",
    });
  });

  it("survive the round trip through a hash field whatever they contain", () => {
    const client = { name: 'a "quoted" \\ name', version: "[1]" };
    expect(parseUsageField(field(client, "Query.me"))).toEqual({ client, coordinate: "Query.me" });
    expect(parseUsageField("not json")).toBeUndefined();
    expect(parseUsageField('["only","two"]')).toBeUndefined();
  });
});

describe("usage counts in memory", () => {
  function setup(maxEntries: number) {
    const dropped: number[] = [];
    const counts = new UsageCounts(maxEntries, (uses) => dropped.push(uses));
    const increments = (batch: ReturnType<UsageCounts["take"]>, day: string) =>
      Object.fromEntries(
        [...dayChunks(batch.get(day) ?? new Map(), 2)].flatMap((chunk) => [...chunk.increments]),
      );
    return { counts, dropped, increments };
  }

  it("count each coordinate once per operation, per day and client", () => {
    const { counts, increments } = setup(100);
    counts.record("2026-12-07", web, ["Query.me", "User.id"]);
    counts.record("2026-12-07", web, ["Query.me"]);
    counts.record("2026-12-07", UNKNOWN_CLIENT, ["Query.me"]);
    const batch = counts.take();
    expect(increments(batch, "2026-12-07")).toEqual({
      [field(web, "Query.me")]: 2,
      [field(web, "User.id")]: 1,
      [field(UNKNOWN_CLIENT, "Query.me")]: 1,
    });
    expect(counts.size).toBe(0);
  });

  it("when full, drop whole older days first, then the new uses that need an entry; existing entries keep counting", () => {
    const { counts, dropped, increments } = setup(3);
    counts.record("2026-12-06", web, ["A.a", "A.b", "A.c"]);
    counts.record("2026-12-06", web, ["A.a"]);
    counts.record("2026-12-07", web, ["B.a", "B.b"]);
    expect(dropped).toEqual([4]); // the whole of 2026-12-06: four uses
    counts.record("2026-12-07", web, ["B.a", "B.c", "B.d"]);
    expect(dropped).toEqual([4, 1]); // B.d had no room
    expect(counts.size).toBe(3);
    const batch = counts.take();
    expect(batch.has("2026-12-06")).toBe(false);
    expect(increments(batch, "2026-12-07")).toEqual({
      [field(web, "B.a")]: 2,
      [field(web, "B.b")]: 1,
      [field(web, "B.c")]: 1,
    });
  });

  it("take back a failed batch, adding to what was counted since, within the same bound", () => {
    const { counts, dropped, increments } = setup(3);
    counts.record("2026-12-07", web, ["A.a", "A.b"]);
    const failed = counts.take();
    counts.record("2026-12-07", web, ["A.a", "A.c"]);
    counts.record("2026-12-08", web, ["C.a"]);
    counts.restore(failed);
    // A.a merges into its entry; A.b would be a fourth entry and its day is not older than all.
    expect(dropped).toEqual([1]);
    const batch = counts.take();
    expect(increments(batch, "2026-12-07")).toEqual({ [field(web, "A.a")]: 2, [field(web, "A.c")]: 1 });
    expect(increments(batch, "2026-12-08")).toEqual({ [field(web, "C.a")]: 1 });
  });
});

describe("the usage recorder", () => {
  const DAY = Date.parse("2026-12-07T12:00:00Z");

  function setup(options: { maxPendingEntries?: number } = {}) {
    const store = new MemoryKeyValueStore({ logger });
    let down = false;
    let failAfterWrites = Infinity;
    const writes: string[] = [];
    const sizes: number[] = [];
    const flaky = {
      hashIncrement: async (
        key: string,
        amounts: ReadonlyMap<string, number>,
        o?: { ttlSeconds?: number },
      ) => {
        if (down || writes.length >= failAfterWrites) throw new Error("Redis is unreachable");
        writes.push(key);
        sizes.push(amounts.size);
        await store.hashIncrement(key, amounts, o);
      },
    };
    let now = DAY;
    const registry = new Registry();
    const recorder = new UsageRecorder({
      store: flaky,
      settings: { enabled: true, retentionDays: 30, flushIntervalMs: 3_600_000, ...options },
      logger,
      metrics: (pending) => createUsageMetrics(registry, pending),
      now: () => now,
    });
    const metric = async (name: string, labels: Record<string, string> = {}) =>
      total(parseSamples(await registry.metrics()), name, labels);
    const day = async (date: string) => Object.fromEntries(await store.hashGetAll(usageKey(date)));
    return {
      recorder,
      store,
      writes,
      sizes,
      failAfter: (count: number) => (failAfterWrites = count),
      metric,
      day,
      setDown: (value: boolean) => (down = value),
      advance: (ms: number) => (now += ms),
      close: () => Promise.all([recorder.stop(), store.close()]),
    };
  }

  it("writes counts per day, expiring a retention after the day began, and counts in aggregate", async () => {
    const env = setup();
    env.recorder.record({ name: "web", version: "1.0" }, ["Query.me"]);
    env.recorder.record({ name: undefined, version: undefined }, ["Query.me"]);
    env.advance(24 * 3600_000);
    env.recorder.record({ name: "web", version: "1.0" }, ["Query.me", "User.email"]);
    await env.recorder.flush();

    expect(await env.day("2026-12-07")).toEqual({
      [field(web, "Query.me")]: "1",
      [field(UNKNOWN_CLIENT, "Query.me")]: "1",
    });
    expect(await env.day("2026-12-08")).toEqual({
      [field(web, "Query.me")]: "1",
      [field(web, "User.email")]: "1",
    });
    // 2026-12-07 began 36 hours before "now": 30 days minus those 36 hours are left.
    expect(await env.store.ttl(usageKey("2026-12-07"))).toBe(30 * 86_400 - 36 * 3600);
    expect(usageTtlSeconds("2026-12-07", 30, DAY)).toBe(30 * 86_400 - 12 * 3600);
    expect(await env.metric("orion_router_usage_operations_recorded_total")).toBe(3);
    expect(await env.metric("orion_router_usage_flushes_total", { result: "ok" })).toBe(1);
    await env.close();
  });

  it("keeps counts in memory while the store is down, writes them once it is back, and drops the oldest past its bound", async () => {
    const env = setup({ maxPendingEntries: 2 });
    env.setDown(true);
    env.recorder.record(web, ["Query.me"]);
    await env.recorder.flush();
    env.recorder.record(web, ["Query.me"]);
    await env.recorder.flush();
    expect(await env.metric("orion_router_usage_flushes_total", { result: "failed" })).toBe(2);
    expect(await env.metric("orion_router_usage_pending_entries")).toBe(1);

    env.advance(24 * 3600_000);
    env.recorder.record(web, ["Query.me", "User.id"]);
    env.recorder.record(web, ["User.email"]);
    // Two entries fit: the day before (two uses of Query.me) gave way, then User.email found no room.
    expect(await env.metric("orion_router_usage_dropped_total")).toBe(3);

    env.setDown(false);
    await env.recorder.flush();
    expect(await env.day("2026-12-07")).toEqual({});
    expect(await env.day("2026-12-08")).toEqual({
      [field(web, "Query.me")]: "1",
      [field(web, "User.id")]: "1",
    });
    expect(await env.metric("orion_router_usage_pending_entries")).toBe(0);
    await env.recorder.flush();
    expect(env.writes).toEqual([usageKey("2026-12-08")]);
    await env.close();
  });

  it("writes a large day in chunks, and after a failure midway writes only what was not written", async () => {
    const env = setup();
    const coordinates = Array.from({ length: 2 * FLUSH_CHUNK_FIELDS + 200 }, (_, i) => `Query.f${i}`);
    env.recorder.record(web, coordinates);
    env.failAfter(1);
    await env.recorder.flush();
    expect(env.sizes).toEqual([FLUSH_CHUNK_FIELDS]);
    expect(await env.metric("orion_router_usage_pending_entries")).toBe(FLUSH_CHUNK_FIELDS + 200);

    env.failAfter(Infinity);
    await env.recorder.flush();
    expect(env.sizes).toEqual([FLUSH_CHUNK_FIELDS, FLUSH_CHUNK_FIELDS, 200]);
    const written = await env.day("2026-12-07");
    expect(Object.keys(written)).toHaveLength(coordinates.length);
    expect(new Set(Object.values(written))).toEqual(new Set(["1"]));
    await env.close();
  });

  it("writes what is pending when it stops", async () => {
    const env = setup();
    env.recorder.record(web, ["Query.me"]);
    await env.recorder.stop();
    expect(await env.day("2026-12-07")).toEqual({ [field(web, "Query.me")]: "1" });
    await env.store.close();
  });
});

describeWithServices(["redis"], "the usage recorder on Redis", () => {
  it("writes a day of thousands of fields within the connection's bounded command queue", async () => {
    const store = await connectTestRedis(`test:${runId()}:`);
    const recorder = new UsageRecorder({
      store,
      settings: { enabled: true, retentionDays: 30, flushIntervalMs: 3_600_000 },
      logger,
    });
    try {
      // More fields than the queue's 2,000 commands: one MULTI of them all would be refused.
      recorder.record(
        web,
        Array.from({ length: 3_000 }, (_, i) => `Query.f${i}`),
      );
      await recorder.flush();
      expect((await store.hashGetAll(usageKey(utcDay(Date.now())))).size).toBe(3_000);
    } finally {
      await recorder.stop();
      await store.clear();
      await store.close();
    }
  });
});

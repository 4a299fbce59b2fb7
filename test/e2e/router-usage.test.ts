import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { startRouter } from "../../router/router";
import { parseUsageFile, type UsageFile } from "../../router/usage/usage-file";
import { usageKey, utcDay } from "../../router/usage/usage-keys";
import { TrackEventDocument, UpdatePreferencesDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { orion } from "../support/cli";
import { graphqlClient } from "../support/graphql-client";
import { rawDocument, register, type SignedIn, uniqueEmail } from "../support/identity";
import { scrape, total } from "../support/prometheus";
import { describeWithServices, REAL_SERVICES } from "../support/services";
import {
  connectTestRedis,
  routerOptionsOver,
  startTestSupergraph,
  type TestSupergraph,
} from "../support/supergraph-fixture";

// Usage recorded by the router and exported offline (issue 15 point 3, decision 011): two clients
// send different operations through the real router; `orion schema usage export` then writes what
// each one used, per schema coordinate, from the run's own Redis prefix.

const web = { "apollographql-client-name": "web", "apollographql-client-version": "2.1.0" };
const ios = { "apollographql-client-name": "ios" };
const ME = rawDocument<{ me: { id: string } }>("query MeId { me { id } }");
const ME_AND_NOPE = rawDocument("{ me { id nope } }");

describeWithServices(["postgres", "redis", "rabbitmq"], "router usage recording and export", () => {
  let env: TestSupergraph;
  let alice: SignedIn;
  const folder = mkdtempSync(path.join(os.tmpdir(), "orion-usage-"));

  beforeAll(async () => {
    env = await startTestSupergraph("services", { usage: { flushIntervalMs: 100 } });
    alice = await register(env, uniqueEmail("usage"));
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const recorded = async () =>
    total(
      await scrape(`http://127.0.0.1:${env.supergraph.router.port}`),
      "orion_router_usage_operations_recorded_total",
    );

  async function exportUsage(days = 2): Promise<UsageFile> {
    const out = path.join(folder, `usage-${Date.now()}.json`);
    const run = orion(["schema", "usage", "export", "--out", out, "--days", String(days)], {
      REDIS_URL: REAL_SERVICES.redis.url,
      REDIS_KEY_PREFIX: env.redisPrefix!,
    });
    const code = await run.exited;
    expect({ code, stderr: run.output().stderr }).toEqual({ code: 0, stderr: "" });
    return parseUsageFile(readFileSync(out, "utf8"), out);
  }

  it("counts each client's executed operations per coordinate, arguments and variable values included, and exports them", async () => {
    const firstDay = utcDay(Date.now());
    const before = await recorded();
    const headers = (client: Record<string, string>) => ({ token: alice.token, headers: client });
    for (let i = 0; i < 3; i++) {
      const tracked = await env.request(
        TrackEventDocument,
        { input: { name: "page.viewed", properties: { i } } },
        headers(web),
      );
      expect(tracked.errors).toBeUndefined();
    }
    expect((await env.request(ME, {}, headers(ios))).data?.me.id).toBe(alice.id);
    const updated = await env.request(UpdatePreferencesDocument, { input: { theme: "DARK" } }, headers(ios));
    expect(updated.errors).toBeUndefined();
    // Refused before execution: neither counts.
    expect((await env.request(ME_AND_NOPE, {}, headers(web))).status).toBe(400);
    expect(
      (await env.request(TrackEventDocument, { input: { name: 42 } } as never, headers(web))).data,
    ).toBeUndefined();
    await eventually(async () => expect(await recorded()).toBe(before + 5));

    const file = await eventually(async () => {
      const exported = await exportUsage();
      expect(exported.clients.map((client) => client.name)).toEqual(expect.arrayContaining(["ios", "web"]));
      return exported;
    });
    expect(file.to).toBe(utcDay(Date.now()));
    const clientNamed = (name: string) => file.clients.find((client) => client.name === name)!;
    // Today, unless the test ran across midnight (UTC).
    const seen = (count: number) => ({
      count,
      lastSeen: expect.stringMatching(`^(${firstDay}|${file.to})$`),
    });
    expect(clientNamed("web")).toEqual({
      name: "web",
      version: "2.1.0",
      coordinates: {
        "Mutation.trackEvent": seen(3),
        "Mutation.trackEvent(input:)": seen(3),
        "TrackEventInput.name": seen(3),
        "TrackEventInput.properties": seen(3),
      },
    });
    expect(clientNamed("ios")).toEqual({
      name: "ios",
      version: "",
      coordinates: {
        "Query.me": seen(1),
        "User.id": seen(2),
        "Mutation.updatePreferences": seen(1),
        "Mutation.updatePreferences(input:)": seen(1),
        "UpdatePreferencesInput.theme": seen(1),
        "Theme.DARK": seen(1),
        "User.preferences": seen(1),
        "Preferences.theme": seen(1),
        "Preferences.language": seen(1),
        "Preferences.marketingOptIn": seen(1),
      },
    });
    // The registration sent no client headers.
    expect(clientNamed("unknown").coordinates["Mutation.register"]).toEqual(seen(1));
  });

  it("keeps a day's counts under the router's prefix, expiring after the retention window", async () => {
    const store = await connectTestRedis(env.redisPrefix!);
    try {
      const day = utcDay(Date.now());
      expect((await store.hashGetAll(usageKey(day))).size).toBeGreaterThan(0);
      const ttl = (await store.ttl(usageKey(day)))!;
      expect(ttl).toBeGreaterThan(29 * 86_400);
      expect(ttl).toBeLessThanOrEqual(30 * 86_400);
    } finally {
      await store.close();
    }
  });

  it("records nothing, and exposes no usage series, with USAGE_RECORDING off", async () => {
    const prefix = `${env.redisPrefix}off:`;
    const store = await connectTestRedis(prefix);
    const router = await startRouter({
      ...routerOptionsOver(env, store),
      usage: { enabled: false, retentionDays: 30, flushIntervalMs: 100 },
    });
    try {
      const request = graphqlClient(router.url);
      // Anonymous (this router's store is not the one sessions live in): `me` executes, as null.
      expect((await request(ME, {}, { headers: web })).data).toEqual({ me: null });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await store.hashGetAll(usageKey(utcDay(Date.now())))).size).toBe(0);
      const samples = await scrape(`http://127.0.0.1:${router.port}`);
      expect(samples.filter((sample) => sample.name.startsWith("orion_router_usage_"))).toEqual([]);
    } finally {
      await router.stop();
      await store.clear();
      await store.close();
    }
  });
});

/* eslint-disable max-lines -- every case reads the metrics and logs of one started supergraph
   (seconds to start); splitting the file would start another. */
import { randomUUID } from "node:crypto";

import { UserRegistered } from "../../contracts/events/auth";
import { createEnvelope } from "../../platform/events/event-bus";
import {
  CreateApiKeyDocument,
  MeDocument,
  MyActivityDocument,
  TrackEventDocument,
} from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf } from "../support/graphql-client";
import { PASSWORD, register, type SignedIn, uniqueEmail } from "../support/identity";
import { logCapture } from "../support/log-capture";
import { type Sample, scrape, total } from "../support/prometheus";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";

// What operators see: /metrics of every service and the JSON logs, after real traffic through the
// router on real PostgreSQL, Redis and RabbitMQ.

type LogLine = Record<string, unknown> & { service: string; msg: string };

describeWithServices(["postgres", "redis", "rabbitmq"], "observability: metrics and logs", () => {
  let env: TestSupergraph;
  let alice: SignedIn;
  const capture = logCapture<LogLine>();
  const logs = capture.all;

  const metricsOf = async (service: "router" | "auth" | "user" | "notification" | "analytics") =>
    scrape(
      `http://127.0.0.1:${service === "router" ? env.supergraph.router.port : env.supergraph.subgraphs[service].port}`,
    );

  beforeAll(async () => {
    env = await startTestSupergraph("services", {
      logLevel: "info",
      logDestination: capture.stream,
      rateLimit: { apiKeyPoints: 5, queryCost: 1 },
    });
    alice = await register(env, uniqueEmail("observed"));
    await eventually(async () =>
      expect(
        (await env.request(MyActivityDocument, {}, { token: alice.token })).data?.me?.activity.eventCount,
      ).toBe(2),
    );
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  describe("metrics", () => {
    it("count operations by name and outcome at the router and in each subgraph, with latency", async () => {
      const before = await metricsOf("router");
      for (let i = 0; i < 3; i++)
        expect((await env.request(MeDocument, {}, { token: alice.token })).errors).toBeUndefined();
      const router = await metricsOf("router");
      const count = (samples: Sample[]) =>
        total(samples, "orion_graphql_operation_duration_seconds_count", { operation: "Me", outcome: "ok" });
      expect(count(router) - count(before)).toBe(3);
      expect(
        total(router, "orion_graphql_operation_duration_seconds_bucket", { operation: "Me", le: "+Inf" }),
      ).toBe(count(router));
      expect(
        total(router, "orion_http_requests_total", { route: "/graphql", status: "2xx" }),
      ).toBeGreaterThan(0);
      // Every subgraph counts its share of `Me` under the client's operation name.
      for (const subgraph of ["auth", "user", "notification", "analytics"] as const)
        expect([subgraph, count(await metricsOf(subgraph)) >= 3]).toEqual([subgraph, true]);
      for (const sample of router.filter((s) => s.name.startsWith("orion_")))
        expect(sample.labels.service).toBe("router");
      // Node's own metrics are there too.
      expect(total(router, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
      expect(total(router, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    });

    it("time every subgraph fetch at the router, by subgraph and outcome", async () => {
      await env.request(MeDocument, {}, { token: alice.token });
      const router = await metricsOf("router");
      for (const subgraph of ["auth", "user", "notification", "analytics"])
        expect([
          subgraph,
          total(router, "orion_subgraph_fetch_duration_seconds_count", { subgraph, outcome: "ok" }) > 0,
        ]).toEqual([subgraph, true]);
    });

    it("count refused credentials by reason and rate-limited callers by kind", async () => {
      const reasons = async () => {
        const samples = await metricsOf("router");
        return {
          invalid_token: total(samples, "orion_auth_failures_total", { reason: "invalid_token" }),
          malformed_header: total(samples, "orion_auth_failures_total", { reason: "malformed_header" }),
          invalid_api_key: total(samples, "orion_auth_failures_total", { reason: "invalid_api_key" }),
          api_key_limited: total(samples, "orion_rate_limit_rejections_total", { caller: "api_key" }),
          rejected: total(samples, "orion_graphql_operation_duration_seconds_count", { outcome: "rejected" }),
          errors: total(samples, "orion_graphql_operation_duration_seconds_count", { outcome: "error" }),
        };
      };
      const before = await reasons();
      const [header, payload] = alice.token.split(".");
      expect(codesOf(await env.request(MeDocument, {}, { token: `${header}.${payload}.forged` }))).toEqual([
        "UNAUTHENTICATED",
      ]);
      expect(codesOf(await env.request(MeDocument, {}, { headers: { authorization: "Basic abc" } }))).toEqual(
        ["UNAUTHENTICATED"],
      );
      expect(codesOf(await env.request(MeDocument, {}, { headers: { "x-api-key": "ork_nope" } }))).toEqual([
        "UNAUTHENTICATED",
      ]);
      const key = await env.request(
        CreateApiKeyDocument,
        { input: { name: "limited", scopes: ["user:read"] } },
        { token: alice.token },
      );
      const headers = { "x-api-key": key.data!.createApiKey.secret };
      const codes: unknown[] = [];
      for (let i = 0; i < 7; i++) codes.push(...codesOf(await env.request(MeDocument, {}, { headers })));
      expect(codes).toContain("RATE_LIMITED");
      const after = await reasons();
      expect({
        invalid_token: after.invalid_token - before.invalid_token,
        malformed_header: after.malformed_header - before.malformed_header,
        invalid_api_key: after.invalid_api_key - before.invalid_api_key,
        api_key_limited: after.api_key_limited - before.api_key_limited,
      }).toEqual({
        invalid_token: 1,
        malformed_header: 1,
        invalid_api_key: 1,
        api_key_limited: codes.filter((c) => c === "RATE_LIMITED").length,
      });
      // Refusals are the callers' doing: counted as rejected, never as errors of ours.
      expect(after.rejected - before.rejected).toBeGreaterThanOrEqual(
        3 + after.api_key_limited - before.api_key_limited,
      );
      expect(after.errors).toBe(before.errors);
    });

    it("keep operation labels bounded: names outside the repository's after 100 new ones are 'other'", async () => {
      for (let i = 0; i < 105; i++) {
        const response = await fetch(env.supergraph.routerUrl, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
          body: JSON.stringify({ query: `query Probe${i}_${randomUUID().slice(0, 8)} { __typename }` }),
        });
        expect(response.status).toBe(200);
      }
      // Names of requests refused before they ran take no slot.
      for (let i = 0; i < 5; i++) {
        const refused = await fetch(env.supergraph.routerUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: `query Refused${i} { noSuchField }` }),
        });
        expect(refused.status).toBe(400);
      }
      const router = await metricsOf("router");
      expect(router.some((s) => s.labels.operation?.startsWith("Refused"))).toBe(false);
      expect(router.some((s) => s.labels.operation === "(refused)")).toBe(true);
      const operations = new Set(
        router
          .filter((s) => s.name === "orion_graphql_operation_duration_seconds_count")
          .map((s) => s.labels.operation!),
      );
      expect(operations.has("other")).toBe(true);
      expect([...operations].filter((name) => name.startsWith("Probe")).length).toBeLessThanOrEqual(100);
      expect(operations.size).toBeLessThan(150);
    });

    it("count events published, consumed and dead-lettered, consumer lag, the outbox backlog and the pool", async () => {
      const registered = await register(env, uniqueEmail("evented"));
      await eventually(async () => {
        const auth = await metricsOf("auth");
        expect(
          total(auth, "orion_events_published_total", { type: "auth.user.registered" }),
        ).toBeGreaterThanOrEqual(2);
        const notification = await metricsOf("notification");
        expect(
          total(notification, "orion_events_consumed_total", {
            queue: "notification.welcome",
            type: "auth.user.registered",
            outcome: "ok",
          }),
        ).toBeGreaterThanOrEqual(2);
        expect(
          total(notification, "orion_event_consumer_lag_seconds_count", { queue: "notification.welcome" }),
        ).toBeGreaterThanOrEqual(2);
      });
      expect(registered.id).toBeTruthy();

      // A payload that fails its schema is dead-lettered at once; its type is known here.
      const bad = {
        ...createEnvelope(
          UserRegistered,
          { userId: randomUUID(), email: "a@b.co", displayName: "x", locale: "en" },
          { producer: "auth" },
        ),
      };
      (bad.payload as { email: string }).email = "not an e-mail";
      await env.supergraph.bus.publish(bad);
      await eventually(async () => {
        const analytics = await metricsOf("analytics");
        expect(
          total(analytics, "orion_events_failed_total", {
            queue: "analytics.domain-events",
            type: "auth.user.registered",
            outcome: "dead_lettered",
          }),
        ).toBe(1);
      });
      const auth = await metricsOf("auth");
      expect(auth.find((s) => s.name === "orion_outbox_backlog")?.value).toBe(0);
      expect(auth.find((s) => s.name === "orion_outbox_oldest_pending_seconds")?.value).toBe(0);
      expect(auth.some((s) => s.name === "orion_db_pool_connections" && s.labels.state === "used")).toBe(
        true,
      );
      expect(total(auth, "orion_db_pool_connections", { state: "pending" })).toBe(0);
    });
  });

  describe("logs", () => {
    it("follow one request id from the router to the consumer that sent the welcome e-mail", async () => {
      const requestId = `follow-${randomUUID()}`;
      const email = uniqueEmail("followed");
      const response = await fetch(env.supergraph.routerUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": requestId },
        body: JSON.stringify({
          query:
            "mutation Register($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }",
          variables: { input: { email, password: PASSWORD, displayName: "Followed" } },
        }),
      });
      expect(response.headers.get("x-request-id")).toBe(requestId);
      const { data } = (await response.json()) as {
        data: { register: { accessToken: string; user: { id: string } } };
      };
      await eventually(() => {
        if (!env.mailbox.messages().some((m) => m.to.includes(email) && m.raw.includes("Welcome to ORION")))
          throw new Error("no welcome yet");
      });
      const traced = await eventually(() => {
        const mine = logs().filter((line) => line.correlationId === requestId);
        const consumer = mine.find(
          (line) =>
            line.service === "notification" &&
            line.queue === "notification.welcome" &&
            line.msg === "event handled",
        );
        if (!consumer) throw new Error("the welcome consumer has not logged the request id yet");
        return mine;
      });
      expect(
        traced.find((line) => line.service === "router" && line.msg === "graphql request"),
      ).toMatchObject({
        operation: "Register",
        outcome: "ok",
      });
      // A subgraph logs the gateway's name for its share of the operation.
      expect(traced.find((line) => line.service === "auth" && line.msg === "graphql request")).toMatchObject({
        operation: expect.stringMatching(/^Register__auth__\d+$/),
      });
      expect(traced.filter((line) => line.msg === "event handled").map((line) => line.queue)).toEqual(
        expect.arrayContaining(["notification.welcome", "user.profiles", "analytics.domain-events"]),
      );
      // No secret ever reaches a log line.
      const all = capture.raw.join("\n");
      expect(all).not.toContain(PASSWORD);
      expect(all).not.toContain(data.register.accessToken);
      expect(all).not.toContain(alice.token);
      expect(all).not.toContain(alice.refreshToken);
    });

    it("replaces a malformed x-request-id instead of echoing or logging it", async () => {
      const hostile = "bad id <script>alert(1)</script>";
      const response = await fetch(env.supergraph.routerUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": hostile },
        body: JSON.stringify({ query: "query Hello { __typename }" }),
      });
      expect(response.status).toBe(200);
      const replaced = response.headers.get("x-request-id");
      expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
      await eventually(() => {
        if (!logs().some((line) => line.correlationId === replaced && line.msg === "graphql request"))
          throw new Error("not logged yet");
      });
      expect(capture.raw.join("\n")).not.toContain("<script>");
      const long = "x".repeat(200);
      const tooLong = await fetch(env.supergraph.routerUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": long },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      expect(tooLong.headers.get("x-request-id")).not.toBe(long);
    });

    it("write one line per request with operation, duration, outcome and user, never the document", async () => {
      const marker = `page.viewed`;
      await env.request(
        TrackEventDocument,
        { input: { name: marker, properties: { secret: "s3cr3t-prop" } } },
        { token: alice.token },
      );
      const line = await eventually(() => {
        const found = logs().find(
          (l) =>
            l.service === "router" &&
            l.msg === "graphql request" &&
            l.operation === "TrackEvent" &&
            l.userId === alice.id,
        );
        if (!found) throw new Error("not logged yet");
        return found;
      });
      expect(line).toMatchObject({ outcome: "ok", durationMs: expect.any(Number) });
      expect(Object.keys(line)).not.toContain("query");
      expect(capture.raw.join("\n")).not.toContain("s3cr3t-prop");
    });
  });
});

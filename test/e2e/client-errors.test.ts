import {
  AnalyticsOverviewDocument,
  CreateApiKeyDocument,
  EventSeriesDocument,
  MarkNotificationReadDocument,
  RegisterDocument,
  RevokeApiKeyDocument,
  RevokeSessionDocument,
  SendNotificationDocument,
  SetUserRolesDocument,
  TrackEventDocument,
  UpdateProfileDocument,
  UserProfileDocument,
  UsersDocument,
} from "../../schema/generated/graphql";
import type { GraphQLResponse } from "../support/graphql-client";
import { firstAdmin, PASSWORD, rawDocument, register, type SignedIn, uniqueEmail } from "../support/identity";
import { logCapture } from "../support/log-capture";
import { scrape, total } from "../support/prometheus";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";

/**
 * Client errors stay client errors through every hop, on real PostgreSQL, Redis and RabbitMQ: text
 * PostgreSQL cannot store, malformed ids, and scalars a subgraph refuses reach the client as
 * BAD_USER_INPUT (or GRAPHQL_VALIDATION_FAILED) with the subgraph's message, never as an internal
 * error; and the router neither logs them as failures nor counts them against the subgraph.
 */

const ADMIN_EMAIL = `client-errors-root-${process.pid}@example.com`;
const NUL = "nul\u0000inside";

interface LogLine {
  service?: string;
  level: number;
  msg?: string;
  err?: { stack?: string };
}

const errorsOf = (response: GraphQLResponse<unknown>) =>
  (response.errors ?? []).map((e) => ({ code: e.extensions?.code, field: e.extensions?.field }));

describe("client errors through the router", () => {
  let env: TestSupergraph;
  let admin: SignedIn;
  let alice: SignedIn;
  const capture = logCapture<LogLine>();
  const logs = capture.all;

  beforeAll(async () => {
    env = await startTestSupergraph("services", {
      auth: { adminEmails: [ADMIN_EMAIL] },
      logLevel: "info",
      logDestination: capture.stream,
    });
    admin = await firstAdmin(env, ADMIN_EMAIL);
    alice = await register(env, uniqueEmail("alice"));
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  describe("a NUL character, which PostgreSQL cannot store, is BAD_USER_INPUT naming the field", () => {
    it("in register's displayName: and no account is created", async () => {
      const email = uniqueEmail("nul");
      const response = await env.request(RegisterDocument, {
        input: { email, password: PASSWORD, displayName: NUL },
      });
      expect(response.status).toBe(200);
      expect(errorsOf(response)).toEqual([{ code: "BAD_USER_INPUT", field: "input.displayName" }]);
      expect(response.errors![0]!.message).toBe(
        "input.displayName: must not contain the NUL character (U+0000)",
      );
      expect(await subgraphSql(env, "auth", "select 1 from users where email = ?", [email])).toEqual([]);
    });

    it("in updateProfile's displayName and bio", async () => {
      for (const field of ["displayName", "bio"] as const) {
        const response = await env.request(
          UpdateProfileDocument,
          { input: { [field]: NUL } },
          { token: alice.token },
        );
        expect(errorsOf(response)).toEqual([{ code: "BAD_USER_INPUT", field: `input.${field}` }]);
      }
    });

    it("in an API key's name", async () => {
      const response = await env.request(
        CreateApiKeyDocument,
        { input: { name: NUL, scopes: ["user:read"] } },
        { token: alice.token },
      );
      expect(errorsOf(response)).toEqual([{ code: "BAD_USER_INPUT", field: "input.name" }]);
    });

    it("in users(search:)", async () => {
      const response = await env.request(UsersDocument, { search: NUL }, { token: admin.token });
      expect(errorsOf(response)).toEqual([{ code: "BAD_USER_INPUT", field: "search" }]);
    });

    it("and so are an unpaired surrogate and a string over 10,000 characters", async () => {
      for (const bio of ["half \ud83d of an emoji", "x".repeat(10_001)]) {
        const response = await env.request(UpdateProfileDocument, { input: { bio } }, { token: alice.token });
        expect(errorsOf(response)).toEqual([{ code: "BAD_USER_INPUT", field: "input.bio" }]);
      }
    });
  });

  it("refuses a malformed id with BAD_USER_INPUT naming it, wherever an id is taken", async () => {
    const bad = "not-a-uuid";
    const cases: [string, Promise<GraphQLResponse<unknown>>, string][] = [
      ["user(id)", env.request(UserProfileDocument, { id: bad }, { token: admin.token }), "id"],
      [
        "markNotificationRead(id)",
        env.request(MarkNotificationReadDocument, { id: bad }, { token: alice.token }),
        "id",
      ],
      ["revokeSession(id)", env.request(RevokeSessionDocument, { id: bad }, { token: alice.token }), "id"],
      ["revokeApiKey(id)", env.request(RevokeApiKeyDocument, { id: bad }, { token: alice.token }), "id"],
      [
        "setUserRoles(userId)",
        env.request(SetUserRolesDocument, { userId: bad, roles: ["USER"] }, { token: admin.token }),
        "userId",
      ],
      [
        "sendNotification(userIds)",
        env.request(
          SendNotificationDocument,
          { input: { userIds: [alice.id, bad], channel: "IN_APP", title: "t", body: "b" } },
          { token: admin.token },
        ),
        "input.userIds.1",
      ],
    ];
    for (const [name, pending, field] of cases) {
      const response = await pending;
      expect({ name, errors: errorsOf(response) }).toEqual({
        name,
        errors: [{ code: "BAD_USER_INPUT", field }],
      });
    }
    // A well-formed id of nobody is still simply not found.
    const nobody = await env.request(
      UserProfileDocument,
      { id: "00000000-0000-4000-8000-000000000000" },
      { token: admin.token },
    );
    expect(nobody.errors).toBeUndefined();
    expect(nobody.data).toEqual({ user: null });
  });

  describe("a DateTime or JSONObject a subgraph refuses keeps its code through the router", () => {
    const fetchOutcomes = async (outcome: string) => {
      const samples = await scrape(`http://127.0.0.1:${env.supergraph.router.port}`);
      return total(samples, "orion_subgraph_fetch_duration_seconds_count", { outcome });
    };
    const routerWarnings = () =>
      logs().filter((line) => line.service === "router" && (line.level >= 40 || line.err !== undefined));

    it("as a variable: BAD_USER_INPUT, not counted as a subgraph error, not logged, circuit untouched", async () => {
      const errorsBefore = await fetchOutcomes("error");
      const warningsBefore = routerWarnings().length;
      const now = new Date().toISOString();
      const refused: [string, Promise<GraphQLResponse<unknown>>][] = [
        [
          "trackEvent(occurredAt)",
          env.request(
            TrackEventDocument,
            { input: { name: "page.viewed", occurredAt: "yesterday-ish" } },
            { token: alice.token },
          ),
        ],
        [
          "trackEvent(properties)",
          env.request(
            TrackEventDocument,
            { input: { name: "page.viewed", properties: "not an object" as never } },
            { token: alice.token },
          ),
        ],
        [
          "eventSeries(from)",
          env.request(
            EventSeriesDocument,
            { from: "not a date", to: now, interval: "DAY" },
            { token: admin.token },
          ),
        ],
        [
          "analyticsOverview(to)",
          env.request(
            AnalyticsOverviewDocument,
            { from: now, to: "2026-13-45T99:00:00Z" },
            { token: admin.token },
          ),
        ],
        [
          "createApiKey(expiresAt)",
          env.request(
            CreateApiKeyDocument,
            { input: { name: "k", scopes: ["user:read"], expiresAt: "soon" } },
            { token: alice.token },
          ),
        ],
      ];
      // Enough of them to open a circuit (5 calls, half failed) if they counted.
      for (const [name, pending] of [...refused, ...refused]) {
        const response = await pending;
        const codes = response.errors?.map((e) => e.extensions?.code);
        expect({ name, codes }).toEqual({ name, codes: ["BAD_USER_INPUT"] });
        expect(response.errors![0]!.message).toMatch(/^Variable "\$\w+" got invalid value/);
        expect(response.errors![0]!.extensions?.serviceName).toEqual(expect.any(String));
      }
      // The same subgraphs answer at once: no circuit opened.
      const tracked = await env.request(
        TrackEventDocument,
        { input: { name: "page.viewed" } },
        { token: alice.token },
      );
      expect(tracked.errors).toBeUndefined();
      const series = await env.request(
        EventSeriesDocument,
        { from: new Date(Date.now() - 3600_000).toISOString(), to: now, interval: "HOUR" },
        { token: admin.token },
      );
      expect(series.errors).toBeUndefined();
      expect(await fetchOutcomes("error")).toBe(errorsBefore);
      expect(routerWarnings().slice(warningsBefore)).toEqual([]);
    });

    it("as a literal: GRAPHQL_VALIDATION_FAILED from the subgraph, passed on as it is", async () => {
      const errorsBefore = await fetchOutcomes("error");
      const literals: [string, string, string][] = [
        [
          "trackEvent",
          `mutation { trackEvent(input: { name: "page.viewed", occurredAt: "never" }) }`,
          alice.token,
        ],
        [
          "trackEvent",
          `mutation { trackEvent(input: { name: "page.viewed", properties: 42 }) }`,
          alice.token,
        ],
        [
          "analyticsOverview",
          `{ analyticsOverview(from: "2026-01-01T00:00:00Z", to: "not a date") { totalUsers } }`,
          admin.token,
        ],
        [
          "eventSeries",
          `{ eventSeries(from: "yesterday", to: "2026-01-01T00:00:00Z", interval: DAY) { count } }`,
          admin.token,
        ],
        [
          "createApiKey",
          `mutation { createApiKey(input: { name: "k", scopes: [], expiresAt: "x" }) { secret } }`,
          alice.token,
        ],
      ];
      for (const [name, source, token] of literals) {
        const response = await env.request(rawDocument(source), {}, { token });
        expect({ name, codes: response.errors?.map((e) => e.extensions?.code) }).toEqual({
          name,
          codes: ["GRAPHQL_VALIDATION_FAILED"],
        });
        // The subgraph's own message, naming the scalar it refused.
        expect(response.errors![0]!.message).toMatch(/(DateTime|JSONObject) cannot represent/);
      }
      expect(await fetchOutcomes("error")).toBe(errorsBefore);
    });
  });
});

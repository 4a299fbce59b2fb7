import { print } from "graphql";

import { CreateApiKeyDocument, LoginDocument, RegisterDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { PASSWORD, uniqueEmail } from "../support/identity";
import { type Answer, type Caller, limitsOf, post } from "../support/rate-limit-client";
import { describeWithServices } from "../support/services";
import { connectTestRedis, startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";
import { type RedisProxy, startRedisProxy } from "../support/tcp-proxy";

// Rate limiting at the router (decision 003), through the router on real PostgreSQL, Redis and
// RabbitMQ: budgets per user, per API key and per anonymous address, operation costs, the
// RATE_LIMITED answer and its headers, and the per-process fallback while Redis is unreachable.

const LIMITS = {
  windowSeconds: 60,
  anonymousPoints: 12,
  userPoints: 10,
  apiKeyPoints: 8,
  queryCost: 1,
  mutationCost: 5,
};
const ORIGIN = "https://app.example";
const ME = "{ me { id } }";
const TYPENAME = "{ __typename }";
const UPDATE_BIO = "mutation($bio: String) { updateProfile(input: { bio: $bio }) { id } }";

let addresses = 0;
/** A client address no other spec uses (TEST-NET-3), so every spec starts with whole budgets. */
const freshIp = () => `203.0.113.${++addresses}`;

function expectRateLimited(answer: Answer, windowSeconds = LIMITS.windowSeconds): void {
  expect(answer.status).toBe(429);
  expect(answer.data ?? null).toBeNull();
  expect(answer.errors).toHaveLength(1);
  const extensions = answer.errors![0]!.extensions!;
  expect(extensions.code).toBe("RATE_LIMITED");
  const retryAfter = extensions.retryAfter as number;
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(answer.headers.get("retry-after")).toBe(String(retryAfter));
  expect(limitsOf(answer).remaining).toBe(0);
}

describeWithServices(["postgres", "redis", "rabbitmq"], "router rate limiting", () => {
  let env: TestSupergraph;
  let redisProxy: RedisProxy;
  const send = (query: string, caller?: Caller, variables?: Record<string, unknown>) =>
    post(env.supergraph.routerUrl, query, caller, variables);

  /** A new account, registered from an address of its own (registering is an anonymous mutation). */
  async function signUp(): Promise<{ id: string; email: string; token: string }> {
    const email = uniqueEmail("limits");
    const answer = await send(
      print(RegisterDocument),
      { ip: freshIp() },
      {
        input: { email, password: PASSWORD, displayName: "Limits" },
      },
    );
    expect(answer.errors).toBeUndefined();
    const payload = answer.data!.register as { accessToken: string; user: { id: string } };
    return { id: payload.user.id, email, token: payload.accessToken };
  }

  async function createKey(token: string): Promise<string> {
    const answer = await send(
      print(CreateApiKeyDocument),
      { token },
      {
        input: { name: "limits", scopes: ["user:read"] },
      },
    );
    expect(answer.errors).toBeUndefined();
    return (answer.data!.createApiKey as { secret: string }).secret;
  }

  beforeAll(async () => {
    redisProxy = await startRedisProxy();
    env = await startTestSupergraph("services", {
      // The router counts on Redis through a proxy the outage spec can cut; the subgraphs do not.
      routerRedisUrl: redisProxy.url,
      corsOrigins: [ORIGIN],
      rateLimit: LIMITS,
    });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    await redisProxy?.close();
  });

  it("counts per user, says so in headers on every answer, then refuses with 429 RATE_LIMITED and retryAfter", async () => {
    const alice = await signUp();
    const bob = await signUp();
    for (let used = 1; used <= LIMITS.userPoints; used++) {
      const answer = await send(ME, { token: alice.token });
      expect(answer.status).toBe(200);
      expect(answer.data?.me).toEqual({ id: alice.id });
      const { limit, remaining, reset } = limitsOf(answer);
      expect({ limit, remaining }).toEqual({ limit: LIMITS.userPoints, remaining: LIMITS.userPoints - used });
      expect(reset).toBeGreaterThanOrEqual(1);
      expect(reset).toBeLessThanOrEqual(LIMITS.windowSeconds);
      expect(answer.headers.get("ratelimit-policy")).toBe(`${LIMITS.userPoints};w=${LIMITS.windowSeconds}`);
      expect(answer.headers.get("retry-after")).toBeNull();
    }
    expectRateLimited(await send(ME, { token: alice.token }));

    // The budget is the user's, not the session's: signing in again does not refill it.
    const again = await send(
      print(LoginDocument),
      { ip: freshIp() },
      {
        input: { email: alice.email, password: PASSWORD },
      },
    );
    const secondToken = (again.data!.login as { accessToken: string }).accessToken;
    expectRateLimited(await send(ME, { token: secondToken }));

    // Another user is not affected.
    const other = await send(ME, { token: bob.token });
    expect(other.status).toBe(200);
    expect(limitsOf(other)).toMatchObject({ limit: LIMITS.userPoints, remaining: LIMITS.userPoints - 1 });
  });

  it("charges a mutation more than a query, and a refused mutation never reaches the subgraph", async () => {
    const carol = await signUp();
    const written = await send(UPDATE_BIO, { token: carol.token }, { bio: "first" });
    expect(written.errors).toBeUndefined();
    expect(limitsOf(written).remaining).toBe(LIMITS.userPoints - LIMITS.mutationCost);
    const read = await send(ME, { token: carol.token });
    expect(limitsOf(read).remaining).toBe(LIMITS.userPoints - LIMITS.mutationCost - LIMITS.queryCost);

    // 4 points left, a mutation costs 5: refused before execution.
    expectRateLimited(await send(UPDATE_BIO, { token: carol.token }, { bio: "refused" }));
    const [row] = (await env.supergraph.subgraphs.user.db.orm.em
      .fork()
      .getConnection()
      .execute("select bio from profiles where user_id = ?", [carol.id])) as { bio: string | null }[];
    expect(row!.bio).toBe("first");
    // A refused request still counts: the window is spent, queries wait for it to end too.
    expectRateLimited(await send(ME, { token: carol.token }));
  });

  it("gives every API key its own budget, apart from its owner's and from the owner's other keys", async () => {
    const owner = await signUp();
    const first = await createKey(owner.token);
    const second = await createKey(owner.token);
    // Two key creations (mutations) spent the owner's whole budget...
    expectRateLimited(await send(ME, { token: owner.token }));
    // ...and each key still has all of its own.
    for (let used = 1; used <= LIMITS.apiKeyPoints; used++) {
      const answer = await send(ME, { apiKey: first });
      expect(answer.status).toBe(200);
      expect(answer.data?.me).toEqual({ id: owner.id });
      expect(limitsOf(answer)).toMatchObject({
        limit: LIMITS.apiKeyPoints,
        remaining: LIMITS.apiKeyPoints - used,
      });
    }
    expectRateLimited(await send(ME, { apiKey: first }));
    const other = await send(ME, { apiKey: second });
    expect(other.status).toBe(200);
    expect(limitsOf(other)).toMatchObject({ limit: LIMITS.apiKeyPoints, remaining: LIMITS.apiKeyPoints - 1 });
  });

  it("limits anonymous callers per address (an IPv6 /64 is one address), each apart from the others", async () => {
    const [first, second] = [freshIp(), freshIp()];
    for (let used = 1; used <= LIMITS.anonymousPoints; used++) {
      const answer = await send(TYPENAME, { ip: first });
      expect(answer.status).toBe(200);
      expect(limitsOf(answer)).toMatchObject({
        limit: LIMITS.anonymousPoints,
        remaining: LIMITS.anonymousPoints - used,
      });
    }
    expectRateLimited(await send(TYPENAME, { ip: first }));
    expect(limitsOf(await send(TYPENAME, { ip: second })).remaining).toBe(LIMITS.anonymousPoints - 1);

    // An anonymous mutation costs the mutation price too.
    const registered = await send(
      print(RegisterDocument),
      { ip: freshIp() },
      {
        input: { email: uniqueEmail("anonymous"), password: PASSWORD, displayName: "Anonymous" },
      },
    );
    expect(registered.errors).toBeUndefined();
    expect(limitsOf(registered).remaining).toBe(LIMITS.anonymousPoints - LIMITS.mutationCost);

    for (let used = 1; used <= LIMITS.anonymousPoints; used++)
      expect((await send(TYPENAME, { ip: `2001:db8:7:1::${used.toString(16)}` })).status).toBe(200);
    expectRateLimited(await send(TYPENAME, { ip: "2001:db8:7:1:ffff:ffff:ffff:ffff" }));
    expect((await send(TYPENAME, { ip: "2001:db8:7:2::1" })).status).toBe(200);
  });

  it("lets browser clients read the rate-limit headers (CORS exposes them)", async () => {
    const answer = await send(TYPENAME, { ip: freshIp(), origin: ORIGIN });
    expect(answer.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const exposed = (answer.headers.get("access-control-expose-headers") ?? "")
      .toLowerCase()
      .split(/\s*,\s*/);
    expect(exposed).toEqual(
      expect.arrayContaining(["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after"]),
    );
  });

  it("keeps limiting per router process while Redis is unreachable, and counts on Redis again once it is back", async () => {
    const dave = await signUp();
    const anonymous = freshIp();
    redisProxy.cut();
    try {
      for (let used = 1; used <= LIMITS.anonymousPoints; used++) {
        const answer = await send(TYPENAME, { ip: anonymous });
        expect(answer.status).toBe(200);
        expect(limitsOf(answer)).toMatchObject({
          limit: LIMITS.anonymousPoints,
          remaining: LIMITS.anonymousPoints - used,
        });
      }
      expectRateLimited(await send(TYPENAME, { ip: anonymous }));

      // A token the router cannot confirm may still read (decision 002), within its user's budget.
      for (let used = 1; used <= LIMITS.userPoints; used++) {
        const answer = await send(ME, { token: dave.token });
        expect(answer.status).toBe(200);
        expect(answer.data?.me).toEqual({ id: dave.id });
      }
      expectRateLimited(await send(ME, { token: dave.token }));
    } finally {
      redisProxy.restore();
    }

    const redis = await connectTestRedis(env.redisPrefix!);
    try {
      await eventually(
        async () => {
          const ip = freshIp();
          expect((await send(TYPENAME, { ip })).status).toBe(200);
          expect(await redis.get(`limit:router-anonymous:${ip}`)).toBe(String(LIMITS.queryCost));
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      // What was counted during the outage stayed in the router process: Redis never saw it.
      expect(await redis.get(`limit:router-anonymous:${anonymous}`)).toBeNull();
      expect(await redis.get(`limit:router-user:${dave.id}`)).toBeNull();
    } finally {
      await redis.close();
    }
  });

  it("charges refusals per router process too while Redis is unreachable", async () => {
    const ip = freshIp();
    redisProxy.cut();
    try {
      // Unparsable documents cost 3 points (RATE_LIMIT_REFUSAL_COST's default): the fifth overspends 12.
      for (let sent = 1; sent <= 5; sent++) expect((await send("{ __typename", { ip })).status).toBe(400);
      expectRateLimited(await send(TYPENAME, { ip }));
    } finally {
      redisProxy.restore();
    }
  });
});

describe("router rate limiting on embedded defaults (in-memory counters)", () => {
  let env: TestSupergraph;

  beforeAll(async () => {
    env = await startTestSupergraph("embedded", { rateLimit: { anonymousPoints: 6 } });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  it("limits the same way without Redis", async () => {
    const ip = "198.51.100.7";
    for (let used = 1; used <= 6; used++)
      expect(limitsOf(await post(env.supergraph.routerUrl, TYPENAME, { ip })).remaining).toBe(6 - used);
    expectRateLimited(await post(env.supergraph.routerUrl, TYPENAME, { ip }), 60);
    expect((await post(env.supergraph.routerUrl, TYPENAME, { ip: "198.51.100.8" })).status).toBe(200);
  });
});

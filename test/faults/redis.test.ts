import { credentialKeys } from "../../platform/identity/credential-store";
import {
  CreateApiKeyDocument,
  LoginDocument,
  LogoutDocument,
  LogoutEverywhereDocument,
  MyApiKeysDocument,
  RefreshSessionDocument,
  RegisterDocument,
  RevokeApiKeyDocument,
  RevokeSessionDocument,
} from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf, type GraphQLResponse } from "../support/graphql-client";
import { apiKeyHeaders, login, PASSWORD, rawDocument, register, uniqueEmail } from "../support/identity";
import { describeWithServices, REAL_SERVICES } from "../support/services";
import {
  connectTestRedis,
  startTestSupergraph,
  subgraphSql,
  type TestSupergraph,
} from "../support/supergraph-fixture";
import { type RedisProxy, startRedisProxy } from "../support/tcp-proxy";

// Redis cut, slow and restarted empty under the auth subgraph (the router keeps its own connection,
// so every operation reaches auth): every answer is true (SERVICE_UNAVAILABLE with a retry hint,
// nothing half-done), never INTERNAL_SERVER_ERROR, and everything works again once Redis does.
// Decision 006 lists the behaviour per operation.

const ME = rawDocument<{ me: { id: string } | null }>("{ me { id } }");

const expectUnavailable = (response: GraphQLResponse<unknown>) => {
  expect(codesOf(response)).toEqual(["SERVICE_UNAVAILABLE"]);
  expect(response.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
  expect(response.status).toBe(503);
};

describeWithServices(["postgres", "redis", "rabbitmq"], "faults: Redis under the auth subgraph", () => {
  let env: TestSupergraph;
  let redisProxy: RedisProxy;

  beforeAll(async () => {
    redisProxy = await startRedisProxy();
    env = await startTestSupergraph("services", {
      redisUrl: redisProxy.url,
      routerRedisUrl: REAL_SERVICES.redis.url,
      auth: { bcryptCost: 4 },
      logLevel: process.env.DEBUG_LOG || "silent",
    });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    await redisProxy?.close();
  });

  afterEach(() => redisProxy.restore());

  const accounts = (email: string) =>
    subgraphSql<{ id: string }>(env, "auth", "select id from users where email = ?", [email]);
  const staged = (type: string, email: string) =>
    subgraphSql(env, "auth", "select 1 from outbox_events where type = ? and payload->>'email' = ?", [
      type,
      email,
    ]);

  it("refuses register while Redis is cut and leaves no account, event or e-mail; the retry then succeeds", async () => {
    const email = uniqueEmail("redis-cut-register");
    redisProxy.cut();
    const refused = await env.request(RegisterDocument, {
      input: { email, password: PASSWORD, displayName: "Cut" },
    });
    expectUnavailable(refused);
    expect(await accounts(email)).toHaveLength(0);
    expect(await staged("auth.user.registered", email)).toHaveLength(0);

    redisProxy.restore();
    const retried = await eventually(async () => {
      const response = await env.request(RegisterDocument, {
        input: { email, password: PASSWORD, displayName: "Cut" },
      });
      expect(response.errors).toBeUndefined();
      return response;
    });
    expect(retried.data!.register.user.id).toBe((await accounts(email))[0]!.id);
    expect(await staged("auth.user.registered", email)).toHaveLength(1);
  });

  it("answers login, refresh, logout, session and key management with SERVICE_UNAVAILABLE, and nothing was spent or recorded", async () => {
    const user = await register(env, uniqueEmail("redis-cut-ops"));
    const key = await apiKeyHeaders(env, user, ["user:read"]);
    const other = await login(env, user.email);
    const keysBefore = await subgraphSql<{ id: string }>(
      env,
      "auth",
      "select id from api_keys where user_id = ? and revoked_at is null",
      [user.id],
    );
    redisProxy.cut();
    expectUnavailable(await env.request(LoginDocument, { input: { email: user.email, password: PASSWORD } }));
    expectUnavailable(await env.request(RefreshSessionDocument, { refreshToken: user.refreshToken }));
    expectUnavailable(await env.request(LogoutDocument, {}, { token: user.token }));
    expectUnavailable(await env.request(LogoutEverywhereDocument, {}, { token: user.token }));
    expectUnavailable(
      await env.request(RevokeSessionDocument, { id: other.sessionId }, { token: user.token }),
    );
    expectUnavailable(
      await env.request(RevokeApiKeyDocument, { id: keysBefore[0]!.id }, { token: user.token }),
    );
    expectUnavailable(
      await env.request(
        CreateApiKeyDocument,
        { input: { name: "during the cut", scopes: ["user:read"] } },
        { token: user.token },
      ),
    );
    redisProxy.restore();

    // The refresh token was not spent: using it now is a refresh, not a reuse that ends the session.
    const refreshed = await eventually(async () => {
      const response = await env.request(RefreshSessionDocument, { refreshToken: user.refreshToken });
      expect(response.errors).toBeUndefined();
      return response;
    });
    const keysAfter = await subgraphSql(
      env,
      "auth",
      "select id from api_keys where user_id = ? and revoked_at is null",
      [user.id],
    );
    expect(keysAfter).toEqual(keysBefore);
    // The key and the other session were not ended: they work as before.
    expect((await env.request(ME, {}, key)).data?.me?.id).toBe(user.id);
    expect((await env.request(ME, {}, { token: other.token })).data?.me?.id).toBe(user.id);
    const listed = await env.request(
      MyApiKeysDocument,
      {},
      { token: refreshed.data!.refreshSession.accessToken },
    );
    expect(listed.data!.myApiKeys).toHaveLength(keysBefore.length);
  });

  it("fails fast while Redis is slow (each command has a small budget), then serves again", async () => {
    const user = await register(env, uniqueEmail("redis-slow"));
    redisProxy.slow(2_000);
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        env.request(LoginDocument, { input: { email: user.email, password: PASSWORD } }),
      ),
    );
    // Faster than a single round trip to the slowed Redis: nobody waited on it.
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const answer of answers) expectUnavailable(answer);
    redisProxy.restore();
    await eventually(async () => {
      const response = await env.request(LoginDocument, { input: { email: user.email, password: PASSWORD } });
      expect(response.errors).toBeUndefined();
    });
  });

  it("after Redis lost its data: sessions are UNAUTHENTICATED, never a 500, and API keys keep working without a restart", async () => {
    const user = await register(env, uniqueEmail("redis-empty"));
    const key = await apiKeyHeaders(env, user, ["user:read"]);
    expect((await env.request(ME, {}, key)).data?.me?.id).toBe(user.id);

    // What a restarted, empty Redis looks like to this run: every key under its prefix gone.
    const store = await connectTestRedis(env.redisPrefix!);
    await store.clear();
    await store.close();

    await eventually(async () => {
      const me = await env.request(ME, {}, { token: user.token });
      expect(codesOf(me)).toEqual(["UNAUTHENTICATED"]);
    });
    const refresh = await env.request(RefreshSessionDocument, { refreshToken: user.refreshToken });
    expect(codesOf(refresh)).toEqual(["UNAUTHENTICATED"]);

    // The key is never called invalid: at worst "retry" while auth rewrites the lookup copies.
    const seen = new Set<string>();
    await eventually(async () => {
      const me = await env.request(ME, {}, key);
      for (const code of codesOf(me)) seen.add(String(code));
      expect(me.data?.me?.id).toBe(user.id);
    });
    expect([...seen].filter((code) => code !== "SERVICE_UNAVAILABLE")).toEqual([]);
  });

  it("ends a session everywhere within a second even when the revocation message is lost", async () => {
    const user = await register(env, uniqueEmail("redis-lost-revocation"));
    expect((await env.request(ME, {}, { token: user.token })).data?.me?.id).toBe(user.id);
    // The session goes from the store without the message routers listen for.
    const store = await connectTestRedis(env.redisPrefix!);
    await store.delete(credentialKeys.session(user.sessionId));
    await store.close();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(codesOf(await env.request(ME, {}, { token: user.token }))).toEqual(["UNAUTHENTICATED"]);
  });
});

import { print } from "graphql";

import { createLogger } from "../../platform/logger";
import type { KeyValueStore } from "../../platform/store/key-value-store";
import { MemoryKeyValueStore } from "../../platform/store/memory-store";
import { APQ_KEY_PREFIX, StoreKeyValueCache } from "../../router/persisted-operations";
import { UserProfileDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf } from "../support/graphql-client";
import { register, uniqueEmail } from "../support/identity";
import { bearer, getByHash, post, sha256 } from "../support/persisted-query-client";
import { describeWithServices, REAL_SERVICES } from "../support/services";
import { connectTestRedis, startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

// Automatic persisted queries (the operation safelist: router-operation-safelist.test.ts).

const silent = createLogger("test", "silent");

describe("persisted query cache over the key-value store", () => {
  let store: MemoryKeyValueStore;
  beforeEach(() => (store = new MemoryKeyValueStore({ logger: silent })));
  afterEach(() => store.close());

  it("keeps entries under its prefix, each with a TTL", async () => {
    const cache = new StoreKeyValueCache(store, { prefix: "apq:", ttlSeconds: 3600, logger: silent });
    await cache.set("abc", "{ me { id } }");
    expect(await cache.get("abc")).toBe("{ me { id } }");
    expect(await store.get("apq:abc")).toBe("{ me { id } }");
    expect(await store.ttl("apq:abc")).toBe(3600);
    await cache.set("short", "x", { ttl: 90 });
    expect(await store.ttl("apq:short")).toBe(90);
    // Apollo's "no TTL" still expires: nothing is kept forever.
    await cache.set("never", "x", { ttl: null });
    expect(await store.ttl("apq:never")).toBe(3600);
    expect(await cache.delete("abc")).toBe(true);
    expect(await cache.get("abc")).toBeUndefined();
  });

  it("misses instead of failing while the store is down or slow", async () => {
    const down = {
      get: () => Promise.reject(new Error("down")),
      set: () => Promise.reject(new Error("down")),
      delete: () => Promise.reject(new Error("down")),
    } as unknown as KeyValueStore;
    const broken = new StoreKeyValueCache(down, { prefix: "apq:", ttlSeconds: 60, logger: silent });
    await expect(broken.get("abc")).resolves.toBeUndefined();
    await expect(broken.set("abc", "x")).resolves.toBeUndefined();
    await expect(broken.delete("abc")).resolves.toBe(false);

    const hanging = { get: () => new Promise(() => undefined) } as unknown as KeyValueStore;
    const slow = new StoreKeyValueCache(hanging, {
      prefix: "apq:",
      ttlSeconds: 60,
      logger: silent,
      timeoutMs: 50,
    });
    const started = Date.now();
    await expect(slow.get("abc")).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describeWithServices(["postgres", "redis", "rabbitmq"], "router: automatic persisted queries", () => {
  let env: TestSupergraph;
  let redisProxy: TcpProxy;
  let redis: Awaited<ReturnType<typeof connectTestRedis>>;
  let url: string;
  let queries = 0;
  /** A query text no other spec has registered (the comment makes the hash unique). */
  const freshQuery = (body = "query Anonymous { me { id } }") => `# apq ${++queries}\n${body}`;

  beforeAll(async () => {
    const target = new URL(REAL_SERVICES.redis.url);
    redisProxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    // The router reaches Redis through a proxy the outage spec can cut; the subgraphs do not.
    env = await startTestSupergraph("services", { routerRedisUrl: `redis://127.0.0.1:${redisProxy.port}` });
    redis = await connectTestRedis(env.redisPrefix!);
    url = env.supergraph.routerUrl;
  }, 60_000);

  afterAll(async () => {
    await redis?.close();
    await env?.stop();
    await redisProxy?.close();
  });

  it("answers an unknown hash with PERSISTED_QUERY_NOT_FOUND, keeps hash + query in Redis, then runs the hash alone", async () => {
    const query = freshQuery();
    const hash = sha256(query);
    const unknown = await post(url, { hash });
    expect(unknown.status).toBe(200);
    expect(codesOf(unknown)).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);

    const registering = await post(url, { query, hash });
    expect(registering).toMatchObject({ status: 200, data: { me: null } });
    expect(registering.errors).toBeUndefined();
    expect(await redis.get(`${APQ_KEY_PREFIX}${hash}`)).toBe(query);
    const ttl = await redis.ttl(`${APQ_KEY_PREFIX}${hash}`);
    expect(ttl).toBeGreaterThan(24 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(24 * 3600);

    const byHash = await post(url, { hash });
    expect(byHash).toMatchObject({ status: 200, data: { me: null } });
    expect(byHash.errors).toBeUndefined();
  });

  it("runs a registered hash with variables and the caller's identity, as the full query would", async () => {
    const email = uniqueEmail("apq");
    const alice = await register(env, email);
    const query = print(UserProfileDocument);
    const hash = sha256(query);
    const variables = { id: alice.id };
    expect(codesOf(await post(url, { hash, variables }, bearer(alice.token)))).toEqual([
      "PERSISTED_QUERY_NOT_FOUND",
    ]);
    const full = await post(url, { query, hash, variables }, bearer(alice.token));
    expect(full.errors).toBeUndefined();
    const byHash = await post(url, { hash, variables }, bearer(alice.token));
    expect(byHash.errors).toBeUndefined();
    expect(byHash.data).toEqual(full.data);
    expect(byHash.data).toMatchObject({ user: { id: alice.id, email } });
    // Someone else's profile by the same hash: the rules apply exactly as to the full query.
    const bob = await register(env, uniqueEmail("apq-other"));
    const denied = await post(url, { hash, variables }, bearer(bob.token));
    expect(codesOf(denied).length).toBeGreaterThan(0);
    expect(denied).toEqual(await post(url, { query, variables }, bearer(bob.token)));
  });

  it("refuses a hash that is not the query's, and an unknown protocol version, with BAD_REQUEST", async () => {
    const query = freshQuery();
    const wrongHash = sha256(`${query} `);
    const wrong = await post(url, { query, hash: wrongHash });
    expect(wrong.status).toBe(400);
    expect(codesOf(wrong)).toEqual(["BAD_REQUEST"]);
    expect(wrong.errors![0]!.message).toMatch(/does not match/);
    expect(wrong.data).toBeUndefined();
    for (const hash of [wrongHash, sha256(query)])
      expect(codesOf(await post(url, { hash }))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);

    const version = await post(url, { query, hash: sha256(query), version: 2 });
    expect(version.status).toBe(400);
    expect(codesOf(version)).toEqual(["BAD_REQUEST"]);
    // Not a SHA-256 at all: never looked up, simply unknown.
    expect(codesOf(await post(url, { hash: "../../etc/passwd" }))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
  });

  it("keeps only documents that validate", async () => {
    const query = freshQuery("query Broken { me { noSuchField } }");
    const hash = sha256(query);
    const invalid = await post(url, { query, hash });
    expect(invalid.status).toBe(400);
    expect(codesOf(invalid)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(await redis.get(`${APQ_KEY_PREFIX}${hash}`)).toBeNull();
    expect(codesOf(await post(url, { hash }))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
  });

  it("runs a registered query by GET, but never a registered mutation", async () => {
    const query = freshQuery();
    await post(url, { query, hash: sha256(query) });
    const read = await getByHash(url, sha256(query));
    expect(read).toMatchObject({ status: 200, data: { me: null } });

    const mutation = freshQuery("mutation ApqLogout { logout }");
    await post(url, { query: mutation, hash: sha256(mutation) });
    expect(await redis.get(`${APQ_KEY_PREFIX}${sha256(mutation)}`)).toBe(mutation);
    const write = await getByHash(url, sha256(mutation));
    expect(write.status).toBe(405);
    expect(write.data).toBeUndefined();
  });

  it("while Redis is unreachable answers a hash alone PERSISTED_QUERY_NOT_FOUND at once and runs the full query", async () => {
    const query = freshQuery();
    const hash = sha256(query);
    await post(url, { query, hash });
    redisProxy.cut();
    try {
      const started = Date.now();
      const missed = await post(url, { hash });
      expect(codesOf(missed)).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
      expect(Date.now() - started).toBeLessThan(2000);
      const full = await post(url, { query, hash });
      expect(full).toMatchObject({ status: 200, data: { me: null } });
      expect(full.errors).toBeUndefined();
    } finally {
      redisProxy.restore();
    }
    // Registered before the outage: found again once the router has reconnected.
    await eventually(
      async () => {
        const byHash = await post(url, { hash });
        expect(byHash.errors).toBeUndefined();
        expect(byHash.data).toEqual({ me: null });
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  }, 40_000);
});

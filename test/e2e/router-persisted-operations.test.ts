import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse, print } from "graphql";
import * as generated from "../../schema/generated/graphql";
import {
  LoginDocument,
  MeDocument,
  MySessionsDocument,
  UserProfileDocument,
} from "../../schema/generated/graphql";
import { createLogger } from "../../platform/logger";
import type { KeyValueStore } from "../../platform/store/key-value-store";
import { MemoryKeyValueStore } from "../../platform/store/memory-store";
import { OperationSafelist } from "../../router/operation-safelist";
import { APQ_KEY_PREFIX, NOT_SAFELISTED, StoreKeyValueCache } from "../../router/persisted-operations";
import { codesOf } from "../support/graphql-client";
import { login, PASSWORD, register, uniqueEmail } from "../support/identity";
import { eventually } from "../support/async";
import { describeWithServices, REAL_SERVICES } from "../support/services";
import { connectTestRedis, startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const silent = createLogger("test", "silent");

interface RawResponse {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** A request as an APQ client sends it: any mix of query, hash and variables. */
async function post(
  url: string,
  body: {
    query?: string;
    hash?: string;
    variables?: Record<string, unknown>;
    operationName?: string;
    version?: number;
  },
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({
      query: body.query,
      variables: body.variables,
      operationName: body.operationName,
      ...(body.hash !== undefined
        ? { extensions: { persistedQuery: { version: body.version ?? 1, sha256Hash: body.hash } } }
        : {}),
    }),
  });
  return { status: response.status, ...((await response.json()) as Omit<RawResponse, "status">) };
}

/** GET with the hash alone in `extensions` (CSRF prevention wants the preflight header). */
async function getByHash(url: string, hash: string): Promise<RawResponse> {
  const target = new URL(url);
  target.searchParams.set("extensions", JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }));
  const response = await fetch(target, { headers: { "apollo-require-preflight": "true" } });
  return { status: response.status, ...((await response.json()) as Omit<RawResponse, "status">) };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** The hash codegen embeds in each generated document (codegen.ts, persistedDocuments). */
const hashOf = (document: unknown) => (document as { __meta__: { hash: string } }).__meta__.hash;

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

describe("operation safelist manifest", () => {
  const safelist = OperationSafelist.load();
  const documents = Object.entries(generated).filter(([name]) => name.endsWith("Document"));

  it("holds every generated operation, by the hash codegen embeds and by its printed text", () => {
    expect(documents.length).toBeGreaterThan(10);
    expect(safelist.size).toBe(documents.length);
    for (const [, document] of documents) {
      const hash = hashOf(document);
      expect(safelist.document(hash)).toBeDefined();
      expect(sha256(safelist.document(hash)!)).toBe(hash);
      expect(safelist.allows(parse(print(document as never)))).toBe(true);
    }
  });

  it("admits another printing of a manifest document and nothing else", () => {
    const reordered = parse(`
      # fields, arguments and definitions in another order, commas, comments
      mutation RefreshSession($refreshToken: String!) {
        refreshSession(refreshToken: $refreshToken) { ...AuthPayloadFields }
      }
      fragment AuthPayloadFields on AuthPayload { user { roles, id } refreshToken expiresIn accessToken }
    `);
    expect(safelist.allows(reordered)).toBe(true);
    for (const source of [
      "query Me { me { id } }", // a manifest name, another shape
      "query MySessions { mySessions { id current createdAt lastUsedAt userAgent ipAddress } extra: mySessions { id } }",
      "{ me { id } }",
      "{ __schema { types { name } } }",
      `${print(MeDocument)}\n${print(MySessionsDocument)}`, // two listed operations in one document
    ])
      expect(safelist.allows(parse(source))).toBe(false);
  });

  it("refuses a manifest whose entry is not the SHA-256 of its document, or not one named operation", () => {
    const entry = (text: string, hash = sha256(text)) => ({ [hash]: text });
    expect(() => OperationSafelist.fromManifest(entry("query A { me { id } }", "0".repeat(64)))).toThrow(
      /not the SHA-256/,
    );
    expect(() => OperationSafelist.fromManifest(entry("{ me { id } }"))).toThrow(/one named operation/);
    expect(() =>
      OperationSafelist.fromManifest(entry("query A { me { id } } query B { me { id } }")),
    ).toThrow(/one named operation/);
    const dir = mkdtempSync(path.join(os.tmpdir(), "orion-safelist-"));
    try {
      expect(() => OperationSafelist.load(path.join(dir, "missing.json"))).toThrow(/missing/);
      writeFileSync(path.join(dir, "list.json"), JSON.stringify(entry("query A { me { id } }")));
      expect(OperationSafelist.load(path.join(dir, "list.json")).size).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

describeWithServices(["postgres", "redis", "rabbitmq"], "router: operation safelist", () => {
  let env: TestSupergraph;
  let redis: Awaited<ReturnType<typeof connectTestRedis>>;
  let url: string;

  beforeAll(async () => {
    env = await startTestSupergraph("services", { operationSafelist: true });
    redis = await connectTestRedis(env.redisPrefix!);
    url = env.supergraph.routerUrl;
  }, 60_000);

  afterAll(async () => {
    await redis?.close();
    await env?.stop();
  });

  const expectNotSafelisted = (response: RawResponse) => {
    expect(response.status).toBe(403);
    expect(response.data).toBeUndefined();
    expect(response.errors).toEqual([
      expect.objectContaining({ extensions: { code: "FORBIDDEN", reason: NOT_SAFELISTED } }),
    ]);
  };

  it("runs the repository's operations as the existing typed client sends them", async () => {
    const email = uniqueEmail("safelist");
    const alice = await register(env, email);
    await login(env, email);
    const me = await env.request(MeDocument, {}, { token: alice.token });
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toMatchObject({ id: alice.id, email });
    const sessions = await env.request(MySessionsDocument, {}, { token: alice.token });
    expect(sessions.errors).toBeUndefined();
    expect(sessions.data!.mySessions).toHaveLength(2);
  });

  it("runs a manifest document by the hash codegen embeds, with nothing to register", async () => {
    const alice = await register(env, uniqueEmail("safelist-hash"));
    const hash = hashOf(MeDocument);
    const response = await post(url, { hash }, bearer(alice.token));
    expect(response.errors).toBeUndefined();
    expect(response.data).toMatchObject({ me: { id: alice.id } });
    expect(await redis.get(`${APQ_KEY_PREFIX}${hash}`)).toBeNull();
    const wrongPassword = await post(url, {
      hash: hashOf(LoginDocument),
      variables: { input: { email: "nobody@example.com", password: PASSWORD } },
    });
    expect(codesOf(wrongPassword)).toEqual(["UNAUTHENTICATED"]);
  });

  it("accepts another printing of a listed operation, also through APQ", async () => {
    const alice = await register(env, uniqueEmail("safelist-variant"));
    const query =
      "query MySessions {\n  mySessions { userAgent, lastUsedAt, ipAddress, id, current, createdAt }\n}";
    const hash = sha256(query);
    expect(codesOf(await post(url, { hash }, bearer(alice.token)))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    const full = await post(url, { query, hash }, bearer(alice.token));
    expect(full.errors).toBeUndefined();
    expect(full.data).toMatchObject({ mySessions: [{ current: true }] });
    const byHash = await post(url, { hash }, bearer(alice.token));
    expect(byHash.errors).toBeUndefined();
    expect(byHash.data).toEqual(full.data);
  });

  it("refuses any other document with FORBIDDEN before it reaches a subgraph", async () => {
    const email = uniqueEmail("safelist-refused");
    // `register` with a selection the manifest does not have: refused, so the account is not created.
    const sneaky = await post(url, {
      query: "mutation Register($input: RegisterInput!) { register(input: $input) { accessToken } }",
      variables: { input: { email, password: PASSWORD, displayName: "Sneaky" } },
    });
    expectNotSafelisted(sneaky);
    await expect(register(env, email)).resolves.toMatchObject({ email });

    const alice = await login(env, email);
    for (const request of [
      { query: "query Me { me { id } }" },
      { query: "{ me { id email } }" },
      { query: "{ __typename }" },
      { query: "{ __schema { types { name } } }" },
      // Two listed operations in one document.
      { query: `${print(MeDocument)}\n${print(MySessionsDocument)}`, operationName: "Me" },
    ])
      expectNotSafelisted(await post(url, request, bearer(alice.token)));
  });

  it("answers an unknown hash PERSISTED_QUERY_NOT_FOUND, and never registers an unlisted query", async () => {
    const query = "query Mine { me { id email } }";
    const hash = sha256(query);
    expect(codesOf(await post(url, { hash }))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    expectNotSafelisted(await post(url, { query, hash }));
    expect(await redis.get(`${APQ_KEY_PREFIX}${hash}`)).toBeNull();
    expect(codesOf(await post(url, { hash }))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
  });

  it("answers documents that do not parse or validate with Apollo's own codes", async () => {
    const unparsable = await post(url, { query: "query Me { me { id " });
    expect(unparsable.status).toBe(400);
    expect(codesOf(unparsable)).toEqual(["GRAPHQL_PARSE_FAILED"]);
    const invalid = await post(url, { query: "query Me { me { noSuchField } }" });
    expect(invalid.status).toBe(400);
    expect(codesOf(invalid)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
  });
});

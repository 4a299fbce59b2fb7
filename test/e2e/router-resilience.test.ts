/* eslint-disable max-lines -- every case starts its own router over one started supergraph
   (seconds to start); splitting the file would start another. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import os from "node:os";
import path from "node:path";

import pino, { type Logger } from "pino";

import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import type { RunningService } from "../../platform/http/http-service";
import { SUPERGRAPH_PATH } from "../../platform/paths";
import type { KeyValueStore } from "../../platform/store/key-value-store";
import { MemoryKeyValueStore } from "../../platform/store/memory-store";
import { createGateway, DEFAULT_QUERY_PLAN_CACHE_MIB } from "../../router/gateway";
import { type RouterOptions, startRouter } from "../../router/router";
import { RegisterDocument } from "../../schema/generated/graphql";
import { eventually, gate } from "../support/async";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

/**
 * The router when subgraphs misbehave: down, slow, or coming back; started with every subgraph
 * gone; a supergraph file changed under it; stopped with a request in flight. Each scenario runs
 * its own router over the same four subgraphs (or fakes standing in for one of them).
 */

const PASSWORD = "orion e2e: a long passphrase";

/** `me` with fields from all four subgraphs; analytics' part under its own alias, see below. */
const EVERYWHERE = /* GraphQL */ `
  query Everywhere {
    me {
      id
      email
      profile {
        displayName
      }
      preferences {
        theme
      }
      unreadNotificationCount
    }
    activityOfMe: me {
      id
      activity {
        eventCount
      }
    }
  }
`;
const ACTIVITY = /* GraphQL */ `
  query Activity {
    me {
      id
      activity {
        eventCount
      }
    }
  }
`;

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

async function post(
  url: string,
  query: string,
  token?: string,
): Promise<{ status: number; headers: Headers; body: GraphQLBody }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLBody };
}

/** Log records of a router, to check what it said about a failure. */
function capturingLogger(): { logger: Logger; messages: () => string[] } {
  const records: { msg?: string }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { logger, messages: () => records.map((record) => record.msg ?? "") };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface FakeSubgraph {
  url: string;
  /** Requests received so far. */
  hits: () => number;
  close: () => Promise<void>;
}

/** A stand-in subgraph whose answer (or silence) the test decides. */
async function fakeSubgraph(
  handle: (request: { query: string; variables: Record<string, unknown> }, res: ServerResponse) => void,
): Promise<FakeSubgraph> {
  let hits = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    hits += 1;
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
    req.on("end", () =>
      handle(JSON.parse(raw) as { query: string; variables: Record<string, unknown> }, res),
    );
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    hits: () => hits,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What analytics would answer for `activity { eventCount }` of each representation. */
function answerActivity(request: { variables: Record<string, unknown> }, res: ServerResponse): void {
  const representations = (request.variables.representations ?? []) as unknown[];
  res.setHeader("content-type", "application/json");
  res.end(
    JSON.stringify({
      data: {
        _entities: representations.map(() => ({
          __typename: "User",
          activity: { eventCount: 42, lastSeenAt: null },
        })),
      },
    }),
  );
}

describe("the router when subgraphs fail, the supergraph changes, or it is stopped", () => {
  let env: TestSupergraph;
  let alice: { id: string; token: string };
  const cleanups: (() => Promise<unknown>)[] = [];

  const subgraphUrls = (): Record<SubgraphName, string> =>
    Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, env.supergraph.subgraphs[name].url])) as Record<
      SubgraphName,
      string
    >;

  /**
   * The test supergraph's store (sessions, revocations), but rate-limit counters of its own: the
   * store keeps one limiter per name, and the fixture's router registered its own budgets there.
   */
  function sharedStore(): KeyValueStore {
    const counters = new MemoryKeyValueStore();
    cleanups.push(() => counters.close());
    return new Proxy(env.supergraph.store, {
      get(target, property) {
        if (property === "rateLimiter") return counters.rateLimiter.bind(counters);
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** A router of its own over the test supergraph's subgraphs (some replaced), stopped after the suite. */
  async function startEdge(overrides: Partial<RouterOptions> = {}): Promise<RunningService> {
    const router = await startRouter({
      port: 0,
      host: "127.0.0.1",
      production: false,
      logger: pino({ level: "silent" }),
      supergraphSdl: readFileSync(SUPERGRAPH_PATH, "utf8"),
      jwksUrl: new URL("/.well-known/jwks.json", env.supergraph.subgraphs.auth.url).toString(),
      issuer: "orion-auth",
      audience: "orion",
      identityPrivateKey: env.supergraph.keys.identityPrivateKey,
      corsOrigins: [],
      bodyLimit: "100kb",
      store: sharedStore(),
      ...overrides,
      subgraphUrls: { ...subgraphUrls(), ...overrides.subgraphUrls },
    });
    cleanups.push(() => router.stop());
    return router;
  }

  beforeAll(async () => {
    env = await startTestSupergraph("embedded");
    const registered = await env.request(RegisterDocument, {
      input: { email: "alice@example.com", password: PASSWORD, displayName: "Alice" },
    });
    expect(registered.errors).toBeUndefined();
    alice = { id: registered.data!.register.user.id, token: registered.data!.register.accessToken };
    // Every subgraph has its part of Alice once the registration events are consumed.
    await eventually(async () => {
      const { body } = await post(env.supergraph.routerUrl, EVERYWHERE, alice.token);
      expect(body.errors).toBeUndefined();
      // Registration and verification request, both recorded from domain events.
      expect(body.data).toMatchObject({ activityOfMe: { activity: { eventCount: 2 } } });
    });
  }, 60_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await env?.stop();
  });

  it("answers a slow subgraph's part with SERVICE_UNAVAILABLE after its timeout, without opening its circuit", async () => {
    const silent = await fakeSubgraph(() => undefined); // takes the request, never answers
    cleanups.push(silent.close);
    const { logger, messages } = capturingLogger();
    const router = await startEdge({
      logger,
      subgraphUrls: { analytics: silent.url },
      subgraphs: {
        timeouts: { analytics: 300 },
        breaker: { minimumCalls: 1, failureThresholdPercent: 50, cooldownMs: 60_000 },
      },
    });

    const first = await post(router.url, EVERYWHERE, alice.token);
    expect(first.status).toBe(200); // the other subgraphs' part was answered
    expect(first.body.data).toMatchObject({
      me: {
        id: alice.id,
        email: "alice@example.com",
        profile: { displayName: "Alice" },
        preferences: { theme: "SYSTEM" },
        unreadNotificationCount: expect.any(Number),
      },
      // `activity` is non-null, so the error nulls its nearest nullable parent: this alias.
      activityOfMe: null,
    });
    expect(first.body.errors).toEqual([
      {
        message: "The analytics service is unavailable; retry in 5 s",
        path: ["activityOfMe", "activity"],
        extensions: { code: "SERVICE_UNAVAILABLE", retryAfter: 5, serviceName: "analytics" },
      },
    ]);
    expect(silent.hits()).toBe(1);
    expect(messages()).toContain("Subgraph analytics did not answer within 300 ms");

    // One slow operation is not an outage: the circuit stays closed, the next request is tried again.
    const second = await post(router.url, EVERYWHERE, alice.token);
    expect(second.body.errors).toEqual(first.body.errors);
    expect(silent.hits()).toBe(2);
    expect(messages()).not.toContain("circuit open: calls to this subgraph fail fast");
  });

  it("fails fast while a subgraph is down, probes it after the cool-down, and recovers", async () => {
    const analytics = new URL(env.supergraph.subgraphs.analytics.url);
    const proxy: TcpProxy = await startTcpProxy({ host: analytics.hostname, port: Number(analytics.port) });
    cleanups.push(() => proxy.close());
    const { logger, messages } = capturingLogger();
    const router = await startEdge({
      logger,
      subgraphUrls: { analytics: `http://127.0.0.1:${proxy.port}${analytics.pathname}` },
      subgraphs: { breaker: { minimumCalls: 2, failureThresholdPercent: 50, cooldownMs: 300 } },
    });
    expect((await post(router.url, ACTIVITY, alice.token)).body.errors).toBeUndefined();

    proxy.cut();
    for (let i = 0; i < 2; i++) {
      const down = await post(router.url, ACTIVITY, alice.token);
      // `me.activity` is non-null: its error nulls `me` (the user subgraph's part is lost with it),
      // so the operation got nothing: 503, and when to retry.
      expect(down.status).toBe(503);
      expect(down.headers.get("retry-after")).toBe("5");
      expect(down.body.data).toEqual({ me: null });
      expect(down.body.errors).toEqual([
        expect.objectContaining({
          path: ["me", "activity"],
          extensions: { code: "SERVICE_UNAVAILABLE", retryAfter: 5, serviceName: "analytics" },
        }),
      ]);
    }
    expect(messages()).toContain("Subgraph analytics is unreachable");
    expect(messages()).toContain("circuit open: calls to this subgraph fail fast");

    proxy.restore();
    const recovered = await eventually(async () => {
      const response = await post(router.url, ACTIVITY, alice.token);
      expect(response.body.errors).toBeUndefined();
      return response.body.data;
    });
    expect(recovered).toMatchObject({ me: { id: alice.id, activity: { eventCount: expect.any(Number) } } });
    expect(messages()).toContain("circuit half-open: probing the subgraph");
    expect(messages()).toContain("circuit closed: the subgraph answers again");
  });

  it("passes a subgraph's own SERVICE_UNAVAILABLE answer (HTTP 503) on with its retryAfter, without opening its circuit", async () => {
    const shedding = await fakeSubgraph((_request, res) => {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "7" });
      res.end(
        JSON.stringify({
          errors: [
            {
              message: "Too busy right now; retry shortly",
              extensions: { code: "SERVICE_UNAVAILABLE", retryAfter: 7 },
            },
          ],
        }),
      );
    });
    cleanups.push(shedding.close);
    const { logger, messages } = capturingLogger();
    const router = await startEdge({
      logger,
      subgraphUrls: { analytics: shedding.url },
      subgraphs: { breaker: { minimumCalls: 1, failureThresholdPercent: 1, cooldownMs: 60_000 } },
    });
    for (let i = 1; i <= 3; i++) {
      const response = await post(router.url, ACTIVITY, alice.token);
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("7");
      expect(response.body).toEqual({
        data: { me: null },
        errors: [
          {
            message: "Too busy right now; retry shortly",
            extensions: { code: "SERVICE_UNAVAILABLE", retryAfter: 7, serviceName: "analytics" },
          },
        ],
      });
      expect(shedding.hits()).toBe(i); // asked every time: a shed is an answer, not a failure
    }
    expect(messages()).not.toContain("circuit open: calls to this subgraph fail fast");
  });

  it("counts a 5xx without a deliberate answer as a failure: INTERNAL_SERVER_ERROR, and the circuit opens", async () => {
    const broken = await fakeSubgraph((_request, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("stack trace of something that broke");
    });
    cleanups.push(broken.close);
    const { logger, messages } = capturingLogger();
    const router = await startEdge({
      logger,
      subgraphUrls: { analytics: broken.url },
      subgraphs: { breaker: { minimumCalls: 1, failureThresholdPercent: 1, cooldownMs: 60_000 } },
    });
    const first = await post(router.url, EVERYWHERE, alice.token);
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ me: { id: alice.id }, activityOfMe: null });
    expect(first.body.errors).toEqual([
      {
        message: "Internal server error",
        path: ["activityOfMe", "activity"],
        extensions: { code: "INTERNAL_SERVER_ERROR", serviceName: "analytics" },
      },
    ]);
    expect(JSON.stringify(first.body)).not.toContain("stack trace");
    expect(messages()).toContain("Subgraph analytics answered HTTP 500");
    expect(messages()).toContain("circuit open: calls to this subgraph fail fast");

    // Open: refused without a call, as an outage the client may retry after the cool-down.
    const second = await post(router.url, EVERYWHERE, alice.token);
    expect(broken.hits()).toBe(1);
    expect(second.body.errors).toEqual([
      {
        message: "The analytics service is unavailable; retry in 60 s",
        path: ["activityOfMe", "activity"],
        extensions: { code: "SERVICE_UNAVAILABLE", retryAfter: 60, serviceName: "analytics" },
      },
    ]);
  });

  it("starts from the committed supergraph with every subgraph down, is ready, and answers with errors", async () => {
    const ports = await Promise.all(SUBGRAPH_NAMES.map(() => closedPort()));
    const down = Object.fromEntries(
      SUBGRAPH_NAMES.map((name, i) => [name, `http://127.0.0.1:${ports[i]}/graphql`]),
    ) as Record<SubgraphName, string>;
    const store = new MemoryKeyValueStore();
    const router = await startRouter({
      port: 0,
      host: "127.0.0.1",
      production: false,
      logger: pino({ level: "silent" }),
      supergraphPath: SUPERGRAPH_PATH,
      subgraphUrls: down,
      jwksUrl: new URL("/.well-known/jwks.json", down.auth).toString(),
      issuer: "orion-auth",
      audience: "orion",
      identityPrivateKey: env.supergraph.keys.identityPrivateKey,
      corsOrigins: [],
      bodyLimit: "100kb",
      store,
    });
    cleanups.push(async () => {
      await router.stop();
      await store.close();
    });

    const ready = await fetch(new URL("/ready", router.url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", checks: { supergraph: true } });

    const response = await post(router.url, "query { me { id } }");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(response.body).toEqual({
      data: { me: null },
      errors: [
        {
          message: "The user service is unavailable; retry in 5 s",
          path: ["me"],
          extensions: { code: "SERVICE_UNAVAILABLE", retryAfter: 5, serviceName: "user" },
        },
      ],
    });
  });

  it("reloads a changed supergraph file without a restart, and keeps the last good one when the file is invalid", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "orion-supergraph-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "supergraph.graphql");
    copyFileSync(SUPERGRAPH_PATH, file);
    const original = readFileSync(file, "utf8");
    const { logger, messages } = capturingLogger();
    const router = await startEdge({
      logger,
      supergraphSdl: undefined,
      supergraphPath: file,
      supergraphPollIntervalMs: 25,
    });
    const activityFields = async () => {
      const { body } = await post(router.url, `{ __type(name: "UserActivity") { fields { name } } }`);
      return ((body.data?.__type as { fields: { name: string }[] }).fields ?? []).map((field) => field.name);
    };
    expect(await activityFields()).toEqual(["eventCount", "lastSeenAt"]);

    // A field removed (its description too: a description before `}` is invalid SDL): the router
    // plans without it at once.
    const withoutLastSeen = original.replace(/\n( {2}"""[^\n]*"""\n)? {2}lastSeenAt: DateTime\n/, "\n");
    expect(withoutLastSeen).not.toBe(original);
    writeFileSync(file, withoutLastSeen);
    await eventually(async () => expect(await activityFields()).toEqual(["eventCount"]));
    const refused = await post(router.url, ACTIVITY.replace("eventCount", "lastSeenAt"), alice.token);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect((await post(router.url, ACTIVITY, alice.token)).body.errors).toBeUndefined();

    // A broken file: logged, and the last good supergraph keeps serving.
    writeFileSync(file, "this is not a supergraph {");
    await eventually(() =>
      expect(messages()).toContain("supergraph file is invalid: keeping the current supergraph"),
    );
    expect(await activityFields()).toEqual(["eventCount"]);
    expect((await post(router.url, ACTIVITY, alice.token)).body.data).toMatchObject({ me: { id: alice.id } });

    // The field back.
    writeFileSync(file, original);
    await eventually(async () => expect(await activityFields()).toEqual(["eventCount", "lastSeenAt"]));
    expect(messages().filter((message) => message === "supergraph reloaded")).toHaveLength(2);
  });

  it("finishes a request in flight when stopped, on a kept-alive connection, and refuses new ones", async () => {
    const release = gate();
    const received = gate();
    const slow = await fakeSubgraph((request, res) => {
      received.open();
      void release.opened.then(() => answerActivity(request, res));
    });
    cleanups.push(slow.close);
    const router = await startRouter({
      port: 0,
      host: "127.0.0.1",
      production: false,
      logger: pino({ level: "silent" }),
      supergraphSdl: readFileSync(SUPERGRAPH_PATH, "utf8"),
      subgraphUrls: { ...subgraphUrls(), analytics: slow.url },
      jwksUrl: new URL("/.well-known/jwks.json", env.supergraph.subgraphs.auth.url).toString(),
      issuer: "orion-auth",
      audience: "orion",
      identityPrivateKey: env.supergraph.keys.identityPrivateKey,
      corsOrigins: [],
      bodyLimit: "100kb",
      store: sharedStore(),
      drainTimeoutMs: 30_000,
    });
    // fetch keeps its connection alive: stop() must not wait for the client to close it.
    const inFlight = post(router.url, ACTIVITY, alice.token);
    await received.opened;
    const stopping = router.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));

    await eventually(async () => {
      const ready = await fetch(new URL("/ready", router.url)).catch(() => null);
      expect(ready?.status ?? 503).toBe(503); // draining, or no longer listening
    });
    expect(stopped).toBe(false);
    release.open();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { me: { id: alice.id, activity: { eventCount: 42 } } } });
    await stopping; // well within the 30 s drain bound: nothing keeps it waiting once the response is out
    await expect(fetch(new URL("/health", router.url))).rejects.toThrow();
  });

  it("bounds the query-plan cache (an LRU sized in approximate MiB of plans)", () => {
    const gateway = createGateway({
      supergraphSdl: readFileSync(SUPERGRAPH_PATH, "utf8"),
      subgraphUrls: {},
      identityKey: {} as never,
      logger: pino({ level: "silent" }),
    }) as unknown as { queryPlanStore: { cache: { maxSize: number } } };
    expect(gateway.queryPlanStore.cache.maxSize).toBe(DEFAULT_QUERY_PLAN_CACHE_MIB * 2 ** 20);
  });

  // Last: it stops a subgraph of the shared test supergraph for good.
  it("answers with the other subgraphs' data and an error for a stopped subgraph, through the main router", async () => {
    await env.supergraph.subgraphs.analytics.stop();
    for (let i = 0; i < 6; i++) {
      const response = await post(env.supergraph.routerUrl, EVERYWHERE, alice.token);
      expect(response.status).toBe(200);
      expect(response.body.data).toMatchObject({
        me: { id: alice.id, email: "alice@example.com", profile: { displayName: "Alice" } },
        activityOfMe: null,
      });
      // Unreachable first, then refused by the open circuit: SERVICE_UNAVAILABLE either way.
      expect(response.body.errors).toEqual([
        expect.objectContaining({
          path: ["activityOfMe", "activity"],
          extensions: {
            code: "SERVICE_UNAVAILABLE",
            retryAfter: expect.any(Number),
            serviceName: "analytics",
          },
        }),
      ]);
    }
    expect((await fetch(new URL("/ready", env.supergraph.routerUrl))).status).toBe(200);
  });
});

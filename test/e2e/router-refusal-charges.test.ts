import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";

import { type FloodOutcome, startFlood } from "../support/flood";
import { apiKeyHeaders, register, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";

// Every request is charged (decision 003, "Refusals are charged"), through the router on real
// PostgreSQL, Redis and RabbitMQ: requests the router refuses (unparsable, invalid or oversized
// documents, unknown persisted hashes, malformed bodies, bad credentials, unsupported charsets)
// spend the caller's budget, weighted by how far they got; once it is spent the caller is refused
// with 429 before its body is read, while other callers are served as before, also under a flood.

const LIMITS = {
  windowSeconds: 60,
  anonymousPoints: 12,
  userPoints: 10,
  // The bystander of the flood spec signs in with a key: its budget outlasts any measurement.
  apiKeyPoints: 1_000_000,
  queryCost: 1,
  mutationCost: 5,
  refusalCost: 3,
};
/** Refusals after the body was read that a fresh address gets before 429: the last one overspends. */
const BODY_REFUSALS = Math.floor(LIMITS.anonymousPoints / LIMITS.refusalCost) + 1;
const TYPENAME = "{ __typename }";

interface Answer {
  status: number;
  headers: Headers;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  data?: unknown;
}

interface Sent {
  ip?: string;
  headers?: Record<string, string>;
  /** The raw body (default: `{ query }` as JSON). */
  body?: string;
}

let addresses = 0;
/** A client address no other spec uses (TEST-NET-2), sent as X-Forwarded-For (trusted from loopback). */
const freshIp = () => `198.51.100.${++addresses}`;

describeWithServices(["postgres", "redis", "rabbitmq"], "router: refused requests are charged", () => {
  let env: TestSupergraph;

  async function post(query: string, sent: Sent = {}): Promise<Answer> {
    const response = await fetch(env.supergraph.routerUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(sent.ip ? { "x-forwarded-for": sent.ip } : {}),
        ...sent.headers,
      },
      body: sent.body ?? JSON.stringify({ query }),
    });
    const text = await response.text();
    const body = (text.startsWith("{") ? JSON.parse(text) : {}) as Omit<Answer, "status" | "headers">;
    return { status: response.status, headers: response.headers, ...body };
  }

  function expectRateLimited(answer: Answer): void {
    expect(answer.status).toBe(429);
    expect(answer.errors).toHaveLength(1);
    const { code, retryAfter } = answer.errors![0]!.extensions!;
    expect(code).toBe("RATE_LIMITED");
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(LIMITS.windowSeconds);
    expect(answer.headers.get("retry-after")).toBe(String(retryAfter));
    expect(answer.headers.get("ratelimit-remaining")).toBe("0");
  }

  /** Sends the same refused request until the router answers 429; the statuses before it. */
  async function refusedUntilLimited(query: string, sent: Sent, expectedStatus: number): Promise<number> {
    for (let refused = 0; refused <= LIMITS.anonymousPoints + 1; refused++) {
      const answer = await post(query, sent);
      if (answer.status === 429) {
        expectRateLimited(answer);
        return refused;
      }
      expect(answer.status).toBe(expectedStatus);
    }
    throw new Error(`never rate limited after ${LIMITS.anonymousPoints + 2} refusals`);
  }

  beforeAll(async () => {
    env = await startTestSupergraph("services", { rateLimit: LIMITS });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  it("rate-limits an address sending unparsable documents, and keeps serving another address", async () => {
    const flooder = freshIp();
    const bystander = freshIp();
    for (let sent = 1; sent <= BODY_REFUSALS; sent++) {
      const answer = await post("{ __typename", { ip: flooder });
      expect(answer.status).toBe(400);
      expect(answer.errors![0]!.extensions!.code).toBe("GRAPHQL_PARSE_FAILED");
    }
    expectRateLimited(await post(TYPENAME, { ip: flooder }));
    // Refused before its body is read: a body over BODY_LIMIT (100 KB) is not even looked at.
    expectRateLimited(await post("", { ip: flooder, body: `{"query":"${"x".repeat(200_000)}"}` }));

    const served = await post(TYPENAME, { ip: bystander });
    expect(served.status).toBe(200);
    expect(served.data).toEqual({ __typename: "Query" });
    expect(served.headers.get("ratelimit-remaining")).toBe(String(LIMITS.anonymousPoints - LIMITS.queryCost));
  });

  it("weighs refusals: as many unparsable documents spend a budget that as many valid queries do not", async () => {
    const requests = BODY_REFUSALS + 1;
    const valid = freshIp();
    for (let sent = 1; sent <= requests; sent++)
      expect((await post(TYPENAME, { ip: valid })).status).toBe(200);
    const invalid = freshIp();
    const answers: number[] = [];
    for (let sent = 1; sent <= requests; sent++)
      answers.push((await post("{ __typename", { ip: invalid })).status);
    expect(answers).toEqual([...Array<number>(BODY_REFUSALS).fill(400), 429]);
  });

  it("charges every kind of refusal once the body was read, and a refusal on headers alone less", async () => {
    const oversized = `{ ${"__typename ".repeat(1000)}}`; // over the 10 000-character limit
    const unknownHash = JSON.stringify({
      extensions: {
        persistedQuery: { version: 1, sha256Hash: createHash("sha256").update("unknown").digest("hex") },
      },
    });
    const kinds: [string, string, Sent, number][] = [
      ["validation error", "{ nope }", {}, 400],
      ["document over the character limit", oversized, {}, 400],
      ["unknown persisted hash", "", { body: unknownHash }, 200],
      ["malformed JSON", "", { body: '{"query": ' }, 400],
      ["bad access token", TYPENAME, { headers: { authorization: "Bearer a.b.c" } }, 401],
    ];
    for (const [kind, query, sent, status] of kinds) {
      const refusals = await refusedUntilLimited(query, { ...sent, ip: freshIp() }, status);
      expect({ kind, refusals }).toEqual({ kind, refusals: BODY_REFUSALS });
    }
    // An unsupported charset is refused on its headers, before the body is read: a query's price.
    const charset = { ip: freshIp(), headers: { "content-type": "application/json; charset=latin1" } };
    expect(await refusedUntilLimited(TYPENAME, charset, 415)).toBe(
      Math.floor(LIMITS.anonymousPoints / LIMITS.queryCost) + 1,
    );
  });

  it("charges a signed-in caller's refusals to that user, not to the address it calls from", async () => {
    const ip = freshIp();
    const user = await register(env, uniqueEmail("refusals"));
    const asUser = { ip, headers: { authorization: `Bearer ${user.token}` } };
    const refusals = await refusedUntilLimited("{ __typename", asUser, 400);
    expect(refusals).toBe(Math.floor(LIMITS.userPoints / LIMITS.refusalCost) + 1);
    // The address itself has its whole budget: the user paid.
    const anonymous = await post(TYPENAME, { ip });
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get("ratelimit-remaining")).toBe(
      String(LIMITS.anonymousPoints - LIMITS.queryCost),
    );
  });

  it("keeps a bystander's { __typename } p99 within 2x of idle while one address floods invalid documents", async () => {
    const owner = await register(env, uniqueEmail("bystander"));
    const { headers } = await apiKeyHeaders(env, owner, ["user:read"]);
    const bystander = { ip: freshIp(), headers };
    const latencies = async (milliseconds: number): Promise<number[]> => {
      const samples: number[] = [];
      const until = performance.now() + milliseconds;
      while (performance.now() < until) {
        const started = performance.now();
        const answer = await post(TYPENAME, bystander);
        samples.push(performance.now() - started);
        expect(answer.status).toBe(200);
      }
      return samples;
    };
    await latencies(500); // warm-up: connections, JIT, caches

    // 200 unknown fields: parsed, validated and answered with 200 errors unless refused early.
    const invalid = `{ ${Array.from({ length: 200 }, (_, i) => `field${i}`).join(" ")} }`;
    const floodIp = freshIp();
    // Idle and flood windows alternate, so whatever else the machine does (the other test worker)
    // falls on both sides of the comparison alike.
    const quiet: number[] = [];
    const during: number[] = [];
    const outcome: FloodOutcome = {};
    for (let round = 0; round < 3; round++) {
      quiet.push(...(await latencies(700)));
      const flood = startFlood(env.supergraph.routerUrl, {
        body: JSON.stringify({ query: invalid }),
        headers: { "X-Forwarded-For": floodIp },
        concurrency: 20,
        seconds: 10,
      });
      try {
        await flood.started;
        during.push(...(await latencies(1_000)));
      } finally {
        for (const [status, count] of Object.entries(await flood.stop()))
          outcome[status] = (outcome[status] ?? 0) + count;
      }
    }
    quiet.push(...(await latencies(700)));
    const idle = p99(quiet);
    const flooded = p99(during);
    const bound = Math.max(2 * idle, idle + 20);
    console.info(
      `bystander p99 idle ${idle.toFixed(1)} ms, during the flood ${flooded.toFixed(1)} ms (bound ${bound.toFixed(1)} ms, ${during.length} samples); flood answers by status ${JSON.stringify(outcome)}`,
    );
    // The flooder was refused early: a few invalid documents were answered, then only 429s.
    expect(outcome[400] ?? 0).toBeLessThanOrEqual(BODY_REFUSALS + 20);
    expect(outcome[429] ?? 0).toBeGreaterThan(0);
    expect(during.length).toBeGreaterThanOrEqual(30);
    expect(flooded).toBeLessThanOrEqual(bound);
  }, 30_000);
});

/** The 99th percentile of some samples (nearest rank). */
function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

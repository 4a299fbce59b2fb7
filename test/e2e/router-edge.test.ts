/* eslint-disable max-lines -- every case runs against one started supergraph, and the last one
   checks every error the others received: split, each part would start its own supergraph and that
   check would miss the other part's errors. */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

import { print } from "graphql";

import { SUBGRAPH_NAMES } from "../../platform/config";
import type { RunningService } from "../../platform/http/http-service";
import { createLogger } from "../../platform/logger";
import { SUPERGRAPH_PATH } from "../../platform/paths";
import { MemoryKeyValueStore } from "../../platform/store/memory-store";
import { ABUSE_LIMITS } from "../../router/abuse-limits";
import { APOLLO_SANDBOX_ORIGIN } from "../../router/http-hygiene";
import { startRouter } from "../../router/router";
import { MeDocument, UpdateProfileDocument, UsersDocument } from "../../schema/generated/graphql";
import { routerAssertion } from "../support/identity";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";

/**
 * The router as the edge every client meets: abusive documents and bad HTTP are refused with a
 * 4xx and a code, in milliseconds, before anything reaches a subgraph, while everyone else is
 * served; responses carry security headers and CORS for the configured origins only.
 */

const APP_ORIGIN = "https://app.example";
/** Generous: a refusal is parse + validate at most, milliseconds; this only catches one that waits on something. */
const REFUSAL_BOUND_MS = 1000;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: {
    data?: unknown;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  } & Record<string, unknown>;
  ms: number;
}

/** Every error body any request of this suite received: none may carry a stack trace or a suggestion. */
const seenErrors: { message: string; extensions?: Record<string, unknown> }[] = [];

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(url, init);
  const text = await response.text();
  const ms = performance.now() - started;
  let json: Answer["json"] = {};
  try {
    json = JSON.parse(text) as Answer["json"];
  } catch {
    // HTML (the landing page) or empty (a preflight)
  }
  for (const result of Array.isArray(json) ? json : [json]) seenErrors.push(...(result.errors ?? []));
  return { status: response.status, headers: response.headers, text, json, ms };
}

const codes = (answer: Answer) => (answer.json.errors ?? []).map((e) => e.extensions?.code);

function setup() {
  let env: TestSupergraph;
  const url = () => env.supergraph.routerUrl;
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    call(url(), {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  /** GraphQL operations the four subgraphs have executed (their own request metrics). */
  async function subgraphOperations(): Promise<number> {
    let total = 0;
    for (const name of SUBGRAPH_NAMES) {
      const metrics = await (await fetch(new URL("/metrics", env.supergraph.subgraphs[name].url))).text();
      for (const match of metrics.matchAll(
        /^orion_graphql_operation_duration_seconds_count\{[^}]*\} (\d+)/gm,
      ))
        total += Number(match[1]);
    }
    return total;
  }

  /** Runs `act` and expects no subgraph to have executed anything meanwhile. */
  async function reachesNoSubgraph<T>(act: () => Promise<T>): Promise<T> {
    const before = await subgraphOperations();
    const result = await act();
    expect(await subgraphOperations()).toBe(before);
    return result;
  }

  beforeAll(async () => {
    env = await startTestSupergraph("embedded", { corsOrigins: [APP_ORIGIN] });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  return { env: () => env, url, post, subgraphOperations, reachesNoSubgraph };
}

describe("router edge", () => {
  const { env, url, post, subgraphOperations, reachesNoSubgraph } = setup();

  describe("abuse limits (graphql-armor and the parser's own limits)", () => {
    const aliases = (n: number) =>
      `query { ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(" ")} }`;
    const inlineDepth = (levels: number) =>
      `query { me { ${"... on User { ".repeat(levels - 2)}id ${"} ".repeat(levels - 2)}} }`;
    const abusive: [string, unknown, string][] = [
      ["too deep", { query: inlineDepth(ABUSE_LIMITS.depth + 1) }, "GRAPHQL_VALIDATION_FAILED"],
      [
        "too costly (pages within pages)",
        {
          query: `query { users(first: 100) { edges { node { notifications(first: 100) { edges { node { id title body } } } } } } }`,
        },
        "GRAPHQL_VALIDATION_FAILED",
      ],
      [
        "too costly through page-size variables",
        {
          query: `query Pages($a: Int!, $b: Int!) { users(first: $a) { edges { node { notifications(first: $b) { edges { node { id title body } } } } } } }`,
          variables: { a: 100, b: 100 },
        },
        "GRAPHQL_VALIDATION_FAILED",
      ],
      ["too many aliases", { query: aliases(ABUSE_LIMITS.aliases + 1) }, "GRAPHQL_VALIDATION_FAILED"],
      [
        "too many directives",
        { query: `query { me { ${"... @include(if: true) { id } ".repeat(ABUSE_LIMITS.directives + 1)}} }` },
        "GRAPHQL_VALIDATION_FAILED",
      ],
      [
        "too many tokens",
        { query: `{ me { ${"id ".repeat(ABUSE_LIMITS.tokens)}} }` },
        "GRAPHQL_PARSE_FAILED",
      ],
      [
        "nested 5000 levels deep (the parser stops at the token limit, no stack overflow)",
        { query: `${"{ a ".repeat(5000)}${"} ".repeat(5000)}` },
        "GRAPHQL_PARSE_FAILED",
      ],
      [
        "too many characters",
        { query: `# ${"x".repeat(ABUSE_LIMITS.characters)}\n{ me { id } }` },
        "GRAPHQL_PARSE_FAILED",
      ],
    ];

    it.each(abusive)(
      "refuses a document %s: 400, in milliseconds, no subgraph reached",
      async (_, body, code) => {
        const answer = await reachesNoSubgraph(() => post(body));
        expect(answer.status).toBe(400);
        expect(codes(answer)).toEqual([code]);
        expect(answer.ms).toBeLessThan(REFUSAL_BOUND_MS);
      },
    );

    it("lets the repository's operations and pages of up to 100 through", async () => {
      const me = await post({ query: print(MeDocument) });
      expect(me.status).toBe(200);
      expect(me.json).toEqual({ data: { me: null } });
      const users = await post({ query: print(UsersDocument), variables: { first: 100 } });
      expect(codes(users)).not.toContain("GRAPHQL_VALIDATION_FAILED");
      expect(codes(users)).not.toContain("BAD_REQUEST");
    });

    it("never suggests a name the client did not send, at the router or at a subgraph", async () => {
      const typos = [
        { query: "{ mee { id } }" },
        { query: "{ me { emial } }" },
        {
          query: "mutation R($r: [Role!]!) { setUserRoles(userId: 1, roles: $r) { id } }",
          variables: { r: ["ADMN"] },
        },
        {
          query: "mutation P($i: UpdateProfileInput!) { updateProfile(input: $i) { id } }",
          variables: { i: { dispalyName: "x" } },
        },
      ];
      for (const body of typos) {
        const answer = await reachesNoSubgraph(() => post(body));
        expect(answer.status).toBe(400);
        expect(answer.text).not.toMatch(/Did you mean/);
        expect(answer.json.errors?.length).toBeGreaterThan(0);
      }
      // A subgraph reached directly (its errors also travel through the router) suggests nothing either;
      // it answers the router only, so the call carries an assertion as the router's would.
      const direct = await call(env().supergraph.subgraphs.user.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(await routerAssertion(env())) },
        body: JSON.stringify({ query: "{ _servce { sdl } }" }),
      });
      expect(direct.text).toMatch(/Cannot query field/);
      expect(direct.text).not.toMatch(/Did you mean/);
    });

    it("refuses batched (array) requests unless configured", async () => {
      const answer = await reachesNoSubgraph(() =>
        post([{ query: "{ __typename }" }, { query: "{ __typename }" }]),
      );
      expect(answer.status).toBe(400);
      expect(codes(answer)).toEqual(["BAD_REQUEST"]);
    });

    it("keeps answering /health while a flood of abusive documents is refused", async () => {
      const kinds = [
        { query: aliases(150) }, // parsed and validated: the most expensive refusal within the token limit
        { query: inlineDepth(60) },
        { query: `{ me { ${"id ".repeat(3000)}} }` },
        { query: `# ${"x".repeat(20_000)}\n{ me { id } }` },
      ];
      // Attackers on kept-alive connections, each sending its next document as soon as one is refused.
      const ATTACKERS = 8;
      const deadline = performance.now() + 1500;
      const statuses = new Set<number>();
      const refusalCodes = new Set<unknown>();
      let refused = 0;
      const attack = async (attacker: number) => {
        for (let i = attacker; performance.now() < deadline; i++) {
          const answer = await post(kinds[i % kinds.length]);
          statuses.add(answer.status);
          for (const code of codes(answer)) refusalCodes.add(code);
          refused++;
        }
      };
      const probes: number[] = [];
      const probe = async () => {
        while (performance.now() < deadline) {
          const started = performance.now();
          const health = await fetch(new URL("/health", url()), { signal: AbortSignal.timeout(10_000) });
          expect(health.status).toBe(200);
          probes.push(performance.now() - started);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const before = await subgraphOperations();
      await Promise.all([...Array.from({ length: ATTACKERS }, (_, a) => attack(a)), probe()]);
      expect(statuses).toEqual(new Set([400]));
      expect(refusalCodes).toEqual(new Set(["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"]));
      expect(await subgraphOperations()).toBe(before);
      // Everyone else is served meanwhile: probe after probe, each within a generous bound (shared CI machines).
      expect(probes.length).toBeGreaterThanOrEqual(5);
      const slowest = Math.max(...probes);
      expect(slowest).toBeLessThan(2000);
      console.log(
        `flood: ${refused} abusive documents refused in 1.5 s from ${ATTACKERS} concurrent clients; ` +
          `${probes.length} /health probes answered meanwhile, slowest ${slowest.toFixed(1)} ms`,
      );
    });
  });

  describe("HTTP hygiene", () => {
    it("keeps CSRF prevention on: simple requests are refused", async () => {
      const textPlain = await post(JSON.stringify({ query: "{ __typename }" }), {
        "content-type": "text/plain",
      });
      expect(textPlain.status).toBe(400);
      expect(textPlain.text).toMatch(/Cross-Site Request Forgery/);
      const bareGet = await call(`${url()}?query=${encodeURIComponent("{ __typename }")}`);
      expect(bareGet.status).toBe(400);
      expect(codes(bareGet)).toEqual(["BAD_REQUEST"]);
      const preflighted = await call(`${url()}?query=${encodeURIComponent("{ __typename }")}`, {
        headers: { "apollo-require-preflight": "true" },
      });
      expect(preflighted.json).toEqual({ data: { __typename: "Query" } });
    });

    it("allows CORS from the configured origins and, outside production, Apollo's hosted Sandbox", async () => {
      const preflight = (origin: string, extra: Record<string, string> = {}) =>
        call(url(), {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,authorization",
            ...extra,
          },
        });
      const app = await preflight(APP_ORIGIN);
      expect(app.status).toBe(204);
      expect(app.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
      const sandbox = await preflight(APOLLO_SANDBOX_ORIGIN, {
        "access-control-request-private-network": "true",
      });
      expect(sandbox.headers.get("access-control-allow-origin")).toBe(APOLLO_SANDBOX_ORIGIN);
      expect(sandbox.headers.get("access-control-allow-headers")).toMatch(/authorization/);
      // Chrome asks before a public page (Sandbox) calls a private address (a local router).
      expect(sandbox.headers.get("access-control-allow-private-network")).toBe("true");
      const stranger = await preflight("https://evil.example", {
        "access-control-request-private-network": "true",
      });
      expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
      expect(stranger.headers.get("access-control-allow-private-network")).toBeNull();
      const actual = await post({ query: "{ __typename }" }, { origin: APP_ORIGIN });
      expect(actual.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
      expect(actual.headers.get("access-control-expose-headers")).toMatch(/x-request-id/i);
    });

    it("sends security headers; the API's policy lets nothing load or frame it", async () => {
      for (const answer of [
        await post({ query: "{ __typename }" }),
        await call(new URL("/health", url()).href),
      ]) {
        expect(answer.headers.get("content-security-policy")).toBe(
          "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
        );
        expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
        expect(answer.headers.get("x-frame-options")).toBe("DENY");
        expect(answer.headers.get("referrer-policy")).toBe("no-referrer");
        expect(answer.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
        expect(answer.headers.get("cross-origin-opener-policy")).toBe("same-origin");
        expect(answer.headers.get("x-powered-by")).toBeNull();
      }
    });

    it("marks every GraphQL answer, data or error, as not to be stored by any cache", async () => {
      const data = await post({ query: "{ __typename }" });
      const refused = await post({ query: "{ nope }" });
      expect(data.json).toEqual({ data: { __typename: "Query" } });
      expect(codes(refused)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      for (const answer of [data, refused]) expect(answer.headers.get("cache-control")).toBe("no-store");
    });

    it("serves Apollo Sandbox as the landing page, under the page's own script policy", async () => {
      const page = await call(url(), { headers: { accept: "text/html" } });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/text\/html/);
      expect(page.text).toMatch(/embeddable-sandbox\.cdn\.apollographql\.com/);
      // The page's nonce-based policy (a <meta> tag) governs scripts; the header adds only what a
      // <meta> policy cannot say, so helmet's default script-src 'self' does not block Sandbox.
      expect(page.text).toMatch(
        /<meta http-equiv="Content-Security-Policy" content="script-src 'self' 'nonce-/,
      );
      const policy = page.headers.get("content-security-policy") ?? "";
      expect(policy).toBe("frame-ancestors 'self';object-src 'none';base-uri 'self'");
      expect(page.headers.get("x-frame-options")).toBe("SAMEORIGIN");
      expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    });

    it("refuses a body over the limit with 413", async () => {
      const answer = await reachesNoSubgraph(() =>
        post({ query: "{ __typename }", variables: { x: "x".repeat(150_000) } }),
      );
      expect(answer.status).toBe(413);
      expect(codes(answer)).toEqual(["BAD_REQUEST"]);
    });

    it("never runs a mutation over GET", async () => {
      const answer = await reachesNoSubgraph(() =>
        call(`${url()}?query=${encodeURIComponent("mutation { logout }")}`, {
          headers: { "apollo-require-preflight": "true" },
        }),
      );
      expect(answer.status).toBe(405);
      expect(answer.headers.get("allow")).toBe("POST");
      expect(codes(answer)).toEqual(["BAD_REQUEST"]);
    });

    it.each(["latin1", "utf-16", "iso-8859-1"])(
      "refuses the charset %s with 415 and a JSON error",
      async (charset) => {
        const answer = await reachesNoSubgraph(() =>
          post({ query: "{ __typename }" }, { "content-type": `application/json; charset=${charset}` }),
        );
        expect(answer.status).toBe(415);
        expect(answer.headers.get("content-type")).toMatch(/application\/json/);
        expect(codes(answer)).toEqual(["BAD_REQUEST"]);
      },
    );

    it.each([
      "charset=utf-8; charset=latin1",
      "charset=latin1; charset=utf-8",
      "charset=utf-8;charset=UTF-8",
    ])("refuses a Content-Type naming two charsets (%s) with 415", async (parameters) => {
      const answer = await reachesNoSubgraph(() =>
        post({ query: "{ __typename }" }, { "content-type": `application/json; ${parameters}` }),
      );
      expect(answer.status).toBe(415);
      expect(codes(answer)).toEqual(["BAD_REQUEST"]);
      expect(answer.json.errors![0]!.message).toMatch(/more than one charset/);
    });

    it("applies the same hygiene at every subgraph: security headers, UTF-8 only, one charset", async () => {
      // As the router calls them: a subgraph answers nothing else (decision 001).
      const assertion = await routerAssertion(env());
      for (const name of SUBGRAPH_NAMES) {
        const subgraph = env().supergraph.subgraphs[name].url;
        const send = (contentType: string) =>
          call(subgraph, {
            method: "POST",
            headers: { "content-type": contentType, ...assertion },
            body: JSON.stringify({ query: "{ __typename }" }),
          });
        for (const contentType of [
          "application/json; charset=latin1",
          "application/json; charset=utf-8; charset=latin1",
        ]) {
          const refused = await send(contentType);
          expect({ name, contentType, status: refused.status, codes: codes(refused) }).toEqual({
            name,
            contentType,
            status: 415,
            codes: ["BAD_REQUEST"],
          });
        }
        for (const answer of [
          await send("application/json"),
          await call(new URL("/health", subgraph).href),
        ]) {
          expect(answer.headers.get("content-security-policy")).toBe(
            "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
          );
          expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
          expect(answer.headers.get("x-frame-options")).toBe("DENY");
        }
      }
    });

    it("accepts UTF-8, however it is spelled", async () => {
      for (const contentType of ["application/json; charset=utf-8", 'application/json; charset="UTF-8"'])
        expect((await post({ query: "{ __typename }" }, { "content-type": contentType })).status).toBe(200);
    });

    it("refuses malformed JSON with 400 and a code", async () => {
      const answer = await post('{"query": "{ __typename }"');
      expect(answer.status).toBe(400);
      expect(codes(answer)).toEqual(["BAD_REQUEST"]);
    });

    it("refuses wrong variable types with 400 before any subgraph", async () => {
      const answer = await reachesNoSubgraph(() =>
        post({ query: print(UsersDocument), variables: { first: "many" } }),
      );
      expect(answer.status).toBe(400);
      expect(codes(answer)).toEqual(["BAD_USER_INPUT"]);
    });

    it("refuses oversized variables with 400 before any subgraph, and lets the largest valid input through", async () => {
      const oversized = await reachesNoSubgraph(() =>
        post({
          query: print(UpdateProfileDocument),
          variables: { input: { bio: "x".repeat(ABUSE_LIMITS.variablesBytes) } },
        }),
      );
      expect(oversized.status).toBe(400);
      expect(codes(oversized)).toEqual(["BAD_REQUEST"]);
      // The largest profile the user subgraph accepts passes the router (and is refused there: no caller).
      const largest = await post({
        query: print(UpdateProfileDocument),
        variables: { input: { displayName: "あ".repeat(100), bio: "あ".repeat(1000) } },
      });
      expect(codes(largest)).not.toContain("BAD_REQUEST");
      expect(codes(largest).length).toBeGreaterThan(0);
    });

    it("refuses an unknown operationName (or a missing one) with 400", async () => {
      const unknown = await reachesNoSubgraph(() =>
        post({ query: "query A { __typename }", operationName: "B" }),
      );
      expect(unknown.status).toBe(400);
      expect(codes(unknown)).toEqual(["OPERATION_RESOLUTION_FAILURE"]);
      const ambiguous = await post({ query: "query A { __typename } query B { __typename }" });
      expect(ambiguous.status).toBe(400);
      expect(codes(ambiguous)).toEqual(["OPERATION_RESOLUTION_FAILURE"]);
    });
  });

  describe("in production, configured for batches", () => {
    let production: RunningService;
    const prodPost = (body: unknown, headers: Record<string, string> = {}) =>
      call(production.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });

    beforeAll(async () => {
      // A second router over the same subgraphs, but auth's URL leads nowhere: its errors must stay opaque.
      const deadPort = await new Promise<number>((resolve) => {
        const server = createServer().listen(0, "127.0.0.1", () => {
          const { port } = server.address() as { port: number };
          server.close(() => resolve(port));
        });
      });
      const supergraph = env().supergraph;
      production = await startRouter({
        port: 0,
        host: "127.0.0.1",
        production: true,
        logger: createLogger("router", "silent"),
        supergraphSdl: readFileSync(SUPERGRAPH_PATH, "utf8"),
        subgraphUrls: {
          ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, supergraph.subgraphs[name].url])),
          auth: `http://127.0.0.1:${deadPort}/graphql`,
        },
        jwksUrl: new URL("/.well-known/jwks.json", supergraph.subgraphs.auth.url).href,
        issuer: "orion-auth",
        audience: "orion",
        identityPrivateKey: supergraph.keys.identityPrivateKey,
        corsOrigins: [APP_ORIGIN],
        bodyLimit: "100kb",
        store: new MemoryKeyValueStore(),
        batchLimit: 2,
      });
    });

    afterAll(async () => {
      await production?.stop();
    });

    it("refuses introspection", async () => {
      const answer = await prodPost({ query: "{ __schema { types { name } } }" });
      expect(answer.status).toBe(400);
      expect(codes(answer)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    });

    it("serves no landing page and no Sandbox origin", async () => {
      const page = await call(production.url, { headers: { accept: "text/html" } });
      expect(page.headers.get("content-type")).not.toMatch(/text\/html/);
      expect(page.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
      const sandbox = await call(production.url, {
        method: "OPTIONS",
        headers: { origin: APOLLO_SANDBOX_ORIGIN, "access-control-request-method": "POST" },
      });
      expect(sandbox.headers.get("access-control-allow-origin")).toBeNull();
    });

    it("runs batches up to the configured size, each operation under the same limits", async () => {
      const batch = await prodPost([{ query: "{ __typename }" }, { query: "query Q { __typename }" }]);
      expect(batch.status).toBe(200);
      expect(batch.json).toEqual([{ data: { __typename: "Query" } }, { data: { __typename: "Query" } }]);
      const tooLarge = await prodPost([
        { query: "{ __typename }" },
        { query: "{ __typename }" },
        { query: "{ __typename }" },
      ]);
      expect(tooLarge.status).toBe(400);
      expect(codes(tooLarge)).toEqual(["BAD_REQUEST"]);
      const oneAbusive = await prodPost([
        { query: "{ __typename }" },
        { query: `{ me { ${"id ".repeat(2000)}} }` },
      ]);
      expect(JSON.stringify(oneAbusive.json)).toMatch(/GRAPHQL_PARSE_FAILED/);
    });

    it("answers a subgraph failure without any detail of it", async () => {
      const answer = await prodPost({ query: 'mutation { requestPasswordReset(email: "a@example.com") }' });
      expect(answer.json.errors?.length).toBeGreaterThan(0);
      expect(answer.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack|\bat \w+ \(/);
    });
  });

  it("never sent a stack trace or a suggestion in any error of this suite", () => {
    expect(seenErrors.length).toBeGreaterThan(30);
    for (const error of seenErrors) {
      expect(error.extensions?.stacktrace).toBeUndefined();
      expect(error.extensions?.exception).toBeUndefined();
      expect(error.message).not.toMatch(/Did you mean/);
    }
  });
});

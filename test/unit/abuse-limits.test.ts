import "reflect-metadata";

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import type { Request, Response } from "express";
import { buildSchema, GraphQLError, Kind, parse, print } from "graphql";

import { pageSizeSchema } from "../../platform/graphql/page-info.type";
import { SCHEMA_DIR } from "../../platform/paths";
import {
  ABUSE_LIMITS,
  type AbuseLimits,
  MAX_PAGE_SIZE,
  pageSizeCostPlugin,
  refusals,
  refuseOversizedRequests,
  SANDBOX_INTROSPECTION_QUERY,
} from "../../router/abuse-limits";
import {
  measureOperations,
  operationDocuments,
  type OperationMeasure,
} from "../../router/operation-measures";
import { trackEventSchema } from "../../subgraphs/analytics/resolvers/track-event.input";
import { updateProfileSchema } from "../../subgraphs/user/resolvers/update-profile.input";

/**
 * The router's abuse limits are set from the operations this repository's clients actually send:
 * every one of them (and Sandbox's introspection query) must pass, with a margin, and documents
 * just past each limit must not.
 */

/** How far above the largest real operation each limit must stay (see ABUSE_LIMITS' table). */
const MARGIN = 1.5;

const apiSchema = buildSchema(readFileSync(path.join(SCHEMA_DIR, "api.graphql"), "utf8"));
const operationsDir = path.join(SCHEMA_DIR, "operations");
const operationFiles = readdirSync(operationsDir).filter((file) => file.endsWith(".graphql"));
const repositoryOperations = operationFiles.flatMap((file) =>
  operationDocuments(readFileSync(path.join(operationsDir, file), "utf8")).map(({ name, document }) => ({
    name,
    source: print(document),
  })),
);
const measured: OperationMeasure[] = [
  ...repositoryOperations.flatMap(({ source }) => measureOperations(apiSchema, source)),
  // Sandbox sends it as written (indented), not printed.
  ...measureOperations(apiSchema, SANDBOX_INTROSPECTION_QUERY).map((m) => ({
    ...m,
    name: "(Sandbox introspection)",
    characters: SANDBOX_INTROSPECTION_QUERY.length,
  })),
];

const DOCUMENT_LIMITS = ["depth", "cost", "aliases", "directives", "tokens", "characters"] as const;

describe("abuse limits measured from the repository's operations", () => {
  it("finds the operations to measure", () => {
    expect(operationFiles.length).toBeGreaterThanOrEqual(4);
    expect(repositoryOperations.length).toBeGreaterThanOrEqual(20);
  });

  it("lets every repository operation through, as printed by codegen", () => {
    const refused = repositoryOperations
      .map(({ name, source }) => ({ name, reasons: refusals(apiSchema, source) }))
      .filter(({ reasons }) => reasons.length > 0);
    expect(refused).toEqual([]);
  });

  it("lets Sandbox's introspection query through (introspection is on outside production)", () => {
    expect(refusals(apiSchema, SANDBOX_INTROSPECTION_QUERY)).toEqual([]);
  });

  it.each(DOCUMENT_LIMITS)(`keeps %s at least ${MARGIN}x above the largest measured operation`, (limit) => {
    const largest = Math.max(...measured.map((m) => m[limit]));
    expect(ABUSE_LIMITS[limit]).toBeGreaterThanOrEqual(Math.ceil(largest * MARGIN));
  });

  it("prints the measurements the limits are set from", () => {
    const max = (key: (typeof DOCUMENT_LIMITS)[number]) => Math.max(...measured.map((m) => m[key]));
    const table = measured.map(
      (m) => DOCUMENT_LIMITS.map((key) => `${key}=${m[key]}`).join(" ") + `  ${m.name}`,
    );
    const summary = DOCUMENT_LIMITS.map((key) => `${key}: largest ${max(key)}, limit ${ABUSE_LIMITS[key]}`);
    console.log(`abuse limits, measured:\n${table.join("\n")}\n\n${summary.join("\n")}`);
    expect(table).toHaveLength(measured.length);
  });
});

describe("abuse limits refuse documents just past each limit", () => {
  const fields = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(" ");
  it("depth", () => {
    // me(1) > one level per inline fragment > id: no type of the API nests deeper than 5 on its own.
    const deep = (levels: number) =>
      `query { me { ${"... on User { ".repeat(levels - 2)}id ${"} ".repeat(levels - 2)}} }`;
    expect(refusals(apiSchema, deep(ABUSE_LIMITS.depth))).toEqual([]);
    expect(refusals(apiSchema, deep(ABUSE_LIMITS.depth + 1)).join()).toMatch(/depth limit of 10 exceeded/);
  });

  it("cost: pages within pages", () => {
    const nested = `query { users(first: 100) { edges { node { notifications(first: 100) { edges { node { id title } } } } } } }`;
    expect(refusals(apiSchema, nested).join()).toMatch(/Cost limit of 10000 exceeded/);
    const onePage = readFileSync(path.join(operationsDir, "user.graphql"), "utf8").replace(
      "first: 10",
      "first: 100",
    );
    expect(refusals(apiSchema, print(operationDocuments(onePage)[0]!.document))).toEqual([]);
  });

  it("aliases", () => {
    const aliased = (n: number) => `query { me { ${fields(n, (i) => `a${i}: id`)} } }`;
    expect(refusals(apiSchema, aliased(ABUSE_LIMITS.aliases))).toEqual([]);
    expect(refusals(apiSchema, aliased(ABUSE_LIMITS.aliases + 1)).join()).toMatch(
      /Aliases limit of 10 exceeded/,
    );
  });

  it("directives", () => {
    const directed = (n: number) => `query { me { id ${"@include(if: true) ".repeat(n)}} }`;
    expect(refusals(apiSchema, directed(ABUSE_LIMITS.directives))).toEqual([]);
    expect(refusals(apiSchema, directed(ABUSE_LIMITS.directives + 1)).join()).toMatch(
      /Directives limit of 10 exceeded/,
    );
  });

  it("tokens, counted by graphql-js's parser (comments excluded)", () => {
    // `{ me { id id ... } }` is 5 tokens plus one per `id`.
    const tokens = (n: number) => `{ me { ${"id ".repeat(n - 5)}} }`;
    const limits: AbuseLimits = { ...ABUSE_LIMITS, characters: Number.MAX_SAFE_INTEGER };
    expect(refusals(apiSchema, tokens(ABUSE_LIMITS.tokens), limits)).toEqual([]);
    expect(refusals(apiSchema, tokens(ABUSE_LIMITS.tokens + 1), limits).join()).toMatch(
      /more that 1000 tokens/ /* sic, graphql-js */,
    );
    expect(refusals(apiSchema, `# ${"x".repeat(5000)}\n{ me { id } }`)).toEqual([]);
  });

  it("characters, before anything is parsed", () => {
    const padded = (n: number) => `{ me { id } }`.padEnd(n, " ");
    expect(refusals(apiSchema, padded(ABUSE_LIMITS.characters))).toEqual([]);
    expect(refusals(apiSchema, padded(ABUSE_LIMITS.characters + 1))).toEqual(["more than 10000 characters"]);
  });
});

describe("request size limits before parsing (refuseOversizedRequests)", () => {
  function run(req: Partial<Request>, batchLimit = 0) {
    const outcome: { status?: number; body?: unknown; next: boolean } = { next: false };
    const res = {
      status(code: number) {
        outcome.status = code;
        return this;
      },
      json(body: unknown) {
        outcome.body = body;
        return this;
      },
    } as unknown as Response;
    refuseOversizedRequests(ABUSE_LIMITS, batchLimit)(
      { method: "POST", headers: {}, ...req } as Request,
      res,
      () => (outcome.next = true),
    );
    return outcome;
  }
  const codeOf = (outcome: ReturnType<typeof run>) =>
    (outcome.body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code;

  /** The largest inputs the subgraphs accept (3-byte UTF-8 characters where text is free). */
  const largestValidVariables = () => {
    const profile = {
      displayName: "あ".repeat(100),
      bio: "あ".repeat(1000),
      avatarUrl: `https://example.com/${"あ".repeat(2048 - 20)}`,
      locale: "pt-BR",
      timezone: "America/Argentina/ComodRivadavia",
    };
    expect(updateProfileSchema.safeParse(profile).success).toBe(true);
    const properties = { text: "x".repeat(4096 - 11) };
    expect(Buffer.byteLength(JSON.stringify(properties))).toBe(4096);
    const event = { name: `a${".b".repeat(49)}`, properties, occurredAt: new Date() };
    expect(trackEventSchema.safeParse(event).success).toBe(true);
    return [{ input: profile }, { input: { ...event, occurredAt: event.occurredAt.toISOString() } }];
  };

  it(`lets the largest valid inputs through with ${MARGIN}x to spare`, () => {
    for (const variables of largestValidVariables()) {
      const bytes = Buffer.byteLength(JSON.stringify(variables));
      expect(bytes * MARGIN).toBeLessThanOrEqual(ABUSE_LIMITS.variablesBytes);
      expect(run({ body: { query: "{ __typename }", variables } }).next).toBe(true);
    }
  });

  it("refuses variables over the limit with BAD_REQUEST (POST and GET)", () => {
    const variables = { input: { bio: "x".repeat(ABUSE_LIMITS.variablesBytes) } };
    const post = run({ body: { query: "{ __typename }", variables } });
    expect(post).toMatchObject({ status: 400, next: false });
    expect(codeOf(post)).toBe("BAD_REQUEST");
    const get = run({
      method: "GET",
      query: { query: "{ __typename }", variables: JSON.stringify(variables) },
    });
    expect(get).toMatchObject({ status: 400, next: false });
  });

  it("does not serialise the variables of a body smaller than the limit", () => {
    const variables = {
      toJSON() {
        throw new Error("serialised");
      },
    };
    expect(
      run({ headers: { "content-length": "200" }, body: { query: "{ __typename }", variables } }).next,
    ).toBe(true);
  });

  it("checks the variables of a compressed body whatever its length says", () => {
    const variables = { input: { bio: "x".repeat(ABUSE_LIMITS.variablesBytes) } };
    const gzipped = run({
      headers: { "content-length": "200", "content-encoding": "gzip" },
      body: { query: "{ __typename }", variables },
    });
    expect(gzipped).toMatchObject({ status: 400, next: false });
  });

  it("refuses a document over the character limit with GRAPHQL_PARSE_FAILED", () => {
    const outcome = run({ body: { query: " ".repeat(ABUSE_LIMITS.characters + 1) } });
    expect(outcome).toMatchObject({ status: 400, next: false });
    expect(codeOf(outcome)).toBe("GRAPHQL_PARSE_FAILED");
  });

  it("limits the operations of a batch when batching is on, and checks each one", () => {
    const op = { query: "{ __typename }" };
    expect(run({ body: [op, op] }, 2).next).toBe(true);
    const tooMany = run({ body: [op, op, op] }, 2);
    expect(tooMany).toMatchObject({ status: 400, next: false });
    expect(codeOf(tooMany)).toBe("BAD_REQUEST");
    expect(run({ body: [op, { query: " ".repeat(ABUSE_LIMITS.characters + 1) }] }, 2).status).toBe(400);
  });

  it("leaves malformed parameters to Apollo's own 400", () => {
    expect(run({ body: { query: 42 } }).next).toBe(true);
    expect(run({ body: "not an object" }).next).toBe(true);
  });
});

describe("page sizes given as variables count towards the cost (pageSizeCostPlugin)", () => {
  const plugin = pageSizeCostPlugin(ABUSE_LIMITS);
  async function check(query: string, variables: Record<string, unknown>): Promise<string | null> {
    const document = parse(query);
    const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    const listener = await plugin.requestDidStart!({} as never);
    try {
      await listener!.didResolveOperation!({
        document,
        operation,
        request: { query, variables },
        schema: apiSchema,
      } as never);
      return null;
    } catch (error) {
      expect(error).toBeInstanceOf(GraphQLError);
      expect((error as GraphQLError).extensions).toMatchObject({
        code: "GRAPHQL_VALIDATION_FAILED",
        http: { status: 400 },
      });
      return (error as GraphQLError).message;
    }
  }
  const nested = `query Pages($a: Int!, $b: Int! = 100) { users(first: $a) { edges { node { notifications(first: $b) { edges { node { id title } } } } } } }`;

  it("refuses pages within pages however their sizes are given", async () => {
    expect(await check(nested, { a: 100, b: 100 })).toMatch(/Cost limit of 10000 exceeded/);
    expect(await check(nested, { a: 100 })).toMatch(/Cost limit/); // $b's default
    expect(await check(nested, { a: 2, b: 2 })).toBeNull();
  });

  it("counts a page larger than any subgraph serves as the largest, leaving its refusal to the subgraph", async () => {
    expect(pageSizeSchema.safeParse(MAX_PAGE_SIZE).success).toBe(true);
    expect(pageSizeSchema.safeParse(MAX_PAGE_SIZE + 1).success).toBe(false);
    const audit = print(
      operationDocuments(readFileSync(path.join(operationsDir, "auth.graphql"), "utf8")).find(
        ({ name }) => name === "AuditEvents",
      )!.document,
    );
    expect(await check(audit, { first: 500 })).toBeNull();
    expect(await check(audit, { first: 1_000_000 })).toBeNull();
  });
});

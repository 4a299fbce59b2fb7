import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { parse, print } from "graphql";

import { OperationSafelist } from "../../router/operation-safelist";
import { APQ_KEY_PREFIX, NOT_SAFELISTED } from "../../router/persisted-operations";
import * as generated from "../../schema/generated/graphql";
import { LoginDocument, MeDocument, MySessionsDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf } from "../support/graphql-client";
import { login, PASSWORD, register, uniqueEmail } from "../support/identity";
import { bearer, hashOf, post, type RawResponse, sha256 } from "../support/persisted-query-client";
import { describeWithServices } from "../support/services";
import {
  connectTestRedis,
  startTestSupergraph,
  subgraphSql,
  type TestSupergraph,
} from "../support/supergraph-fixture";

// The operation safelist: the manifest codegen writes, and a router that runs nothing else.

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
    // The profile `me` reads is made from the registration event: wait for it, not for the safelist.
    await eventually(async () =>
      expect(
        await subgraphSql(env, "user", "select 1 from profiles where user_id = ?", [alice.id]),
      ).toHaveLength(1),
    );
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

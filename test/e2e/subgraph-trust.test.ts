import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";

import type { ApolloGateway } from "@apollo/gateway";
import { importPKCS8 } from "jose";

import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { IDENTITY_HEADER, signIdentityAssertion } from "../../platform/identity/identity";
import { createLogger } from "../../platform/logger";
import { SUPERGRAPH_PATH } from "../../platform/paths";
import { createGateway } from "../../router/gateway";
import { MeDocument, MySessionsDocument } from "../../schema/generated/graphql";
import { codesOf } from "../support/graphql-client";
import {
  login,
  PASSWORD,
  postToSubgraph,
  register,
  routerAssertion,
  type SignedIn,
  uniqueEmail,
  userIdentity,
} from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";

/**
 * Subgraphs trust nothing but the router (decision 001): a request to a subgraph's /graphql
 * without the router's signed `orion-identity` assertion is refused with HTTP 401 UNAUTHENTICATED
 * before anything is parsed, whatever it asks for. The router signs one for every caller, so the
 * API itself is unchanged.
 */

const SERVICE_SDL = { query: "{ _service { sdl } }" };
const entities = (userId: string) => ({
  query: "query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
  variables: { r: [{ __typename: "User", id: userId }] },
});
const registerMutation = (email: string) => ({
  query: "mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }",
  variables: { input: { email, password: PASSWORD, displayName: "Direct" } },
});
const loginMutation = (email: string) => ({
  query: "mutation ($input: LoginInput!) { login(input: $input) { accessToken } }",
  variables: { input: { email, password: PASSWORD } },
});

describeWithServices(
  ["postgres", "redis", "rabbitmq"],
  "subgraphs answer the router only (real PostgreSQL, Redis and RabbitMQ)",
  () => {
    let env: TestSupergraph;
    let alice: SignedIn;

    beforeAll(async () => {
      env = await startTestSupergraph("services");
      alice = await register(env, uniqueEmail("trust"));
    }, 60_000);

    afterAll(async () => {
      await env?.stop();
    });

    const refusals = (): [string, unknown][] => [
      ["register", registerMutation(uniqueEmail("direct"))],
      ["login", loginMutation(alice.email)],
      ["_service { sdl }", SERVICE_SDL],
      ["_entities", entities(alice.id)],
      ["a body that is not even JSON", "{ not json"],
    ];

    it.each(SUBGRAPH_NAMES)(
      "%s: a direct call without an identity assertion gets HTTP 401 UNAUTHENTICATED and no data, whatever it asks",
      async (subgraph: SubgraphName) => {
        for (const [name, body] of refusals()) {
          const answer = await postToSubgraph(env, subgraph, body);
          expect({
            name,
            status: answer.status,
            codes: codesOf(answer),
            data: answer.data ?? null,
          }).toEqual({ name, status: 401, codes: ["UNAUTHENTICATED"], data: null });
        }
      },
    );

    it("a direct register or login without an assertion did nothing: no account, no session", async () => {
      const email = uniqueEmail("unrouted");
      expect((await postToSubgraph(env, "auth", registerMutation(email))).status).toBe(401);
      expect(await subgraphSql(env, "auth", "select 1 from users where email = ?", [email])).toHaveLength(0);
      const sessions = async () =>
        (await env.request(MySessionsDocument, {}, { token: alice.token })).data!.mySessions.length;
      const before = await sessions();
      expect((await postToSubgraph(env, "auth", loginMutation(alice.email))).status).toBe(401);
      expect(await sessions()).toBe(before);
    });

    it.each(SUBGRAPH_NAMES)(
      "%s: refuses a garbage or foreign-signed assertion with HTTP 401 UNAUTHENTICATED",
      async (subgraph: SubgraphName) => {
        const foreign = await signIdentityAssertion(
          userIdentity(alice),
          { ip: null, userAgent: null },
          generateKeyPairSync("ed25519").privateKey,
        );
        for (const header of ["garbage", foreign]) {
          const answer = await postToSubgraph(env, subgraph, entities(alice.id), {
            [IDENTITY_HEADER]: header,
          });
          expect({
            status: answer.status,
            codes: codesOf(answer),
            data: answer.data ?? null,
          }).toEqual({
            status: 401,
            codes: ["UNAUTHENTICATED"],
            data: null,
          });
        }
      },
    );

    it.each(SUBGRAPH_NAMES)(
      "%s: answers _service and _entities to a caller with the router's assertion (control)",
      async (subgraph: SubgraphName) => {
        const signed = await routerAssertion(env);
        const sdl = await postToSubgraph(env, subgraph, SERVICE_SDL, signed);
        expect(sdl.status).toBe(200);
        expect((sdl.data?._service as { sdl: string }).sdl).toContain("@key");
        const found = await postToSubgraph(env, subgraph, entities(alice.id), signed);
        expect({ status: found.status, errors: found.errors }).toEqual({
          status: 200,
          errors: undefined,
        });
        expect(found.data).toEqual({ _entities: [{ __typename: "User" }] });
      },
    );

    it("keeps the router path working for anonymous and signed-in callers", async () => {
      const email = uniqueEmail("routed");
      const fresh = await register(env, email); // anonymous: register
      const again = await login(env, email); // anonymous: login
      for (const user of [fresh, again]) {
        const me = await env.request(MeDocument, {}, { token: user.token });
        expect({ errors: me.errors, id: me.data?.me?.id }).toEqual({ errors: undefined, id: fresh.id });
      }
      const anonymous = await env.request(MeDocument, {});
      expect({ status: anonymous.status, me: anonymous.data?.me }).toEqual({ status: 200, me: null });
    });

    it("signs the router's own calls to subgraphs too (the gateway's subgraph health check)", async () => {
      const gateway = createGateway({
        supergraphSdl: readFileSync(SUPERGRAPH_PATH, "utf8"),
        supergraphPollIntervalMs: 0,
        subgraphUrls: Object.fromEntries(
          SUBGRAPH_NAMES.map((name) => [name, env.supergraph.subgraphs[name].url]),
        ),
        identityKey: await importPKCS8(env.supergraph.keys.identityPrivateKey, "EdDSA"),
        logger: createLogger("router", "silent"),
      }) as unknown as ApolloGateway;
      try {
        await gateway.load();
        // It throws when a subgraph refuses (401); otherwise every one answered `{ __typename }`.
        const checked = await gateway.serviceHealthCheck();
        expect(
          checked
            .map(({ name, response }) => ({ name, data: response.data }))
            .sort((a, b) => a.name.localeCompare(b.name)),
        ).toEqual([...SUBGRAPH_NAMES].sort().map((name) => ({ name, data: { __typename: "Query" } })));
      } finally {
        await gateway.stop();
      }
    });

    it.each(SUBGRAPH_NAMES)(
      "%s: /health, /ready and /metrics stay open without an assertion",
      async (subgraph) => {
        for (const path of ["/health", "/ready", "/metrics"]) {
          const response = await fetch(new URL(path, env.supergraph.subgraphs[subgraph].url));
          await response.arrayBuffer();
          expect({ path, status: response.status }).toEqual({ path, status: 200 });
        }
      },
    );
  },
);

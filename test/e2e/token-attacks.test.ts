/* eslint-disable max-lines -- every attack runs against one started supergraph and the keys it
   was given (seconds to start); splitting the file would start another. */
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import type { JWK } from "jose";

import { type RunningSupergraph, startSupergraph } from "../../cli/supergraph";
import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { dropDatabase } from "../../platform/database/database";
import { type Identity, IDENTITY_HEADER, signIdentityAssertion } from "../../platform/identity/identity";
import { generateKeyMaterial } from "../../platform/identity/keys";
import { Role } from "../../platform/identity/roles";
import { createLogger } from "../../platform/logger";
import { RedisKeyValueStore } from "../../platform/store/redis-store";
import { RegisterDocument } from "../../schema/generated/graphql";
import { SUBGRAPHS } from "../../subgraphs";
import { eventually } from "../support/async";
import { graphqlClient } from "../support/graphql-client";
import {
  databaseUrl,
  deleteRabbitMqObjects,
  describeWithServices,
  REAL_SERVICES,
  runId,
} from "../support/services";
import {
  attackerRsaKey,
  base64url,
  compact,
  decode,
  type DecodedJwt,
  privateKeyFor,
  publicKeyPems,
  sign,
  signHs256,
} from "../support/tokens";

/**
 * Forged, altered and misused credentials, through the router and straight at the subgraphs, on
 * real PostgreSQL, Redis and RabbitMQ. Every refusal has a control that is accepted, so no case can
 * pass just because the forging itself is broken.
 */

// Random: a fixed phrase risks the password policy's list of common passwords.
const PASSWORD = `tk-${randomUUID()}`;
const ME = "{ me { id email } }";

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function post(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string>,
): Promise<{ status: number; body: GraphQLBody }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLBody };
}

const codes = (body: GraphQLBody) => (body.errors ?? []).map((error) => error.extensions?.code);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Queues the subgraphs declare, read from their subscription lists (names only: no handler runs). */
function declaredQueues(): string[] {
  const known = ["user.profiles", "notification.welcome", "analytics.domain-events"];
  const declared = SUBGRAPH_NAMES.flatMap((name) => {
    try {
      const services = { db: {}, deps: {}, bus: {}, logger: {} } as never;
      return (SUBGRAPHS[name].subscriptions?.(services) ?? []).map((s) => s.queue);
    } catch {
      return [];
    }
  });
  return [...new Set([...known, ...declared])];
}

interface World {
  supergraph: RunningSupergraph;
  user: { id: string; email: string; accessToken: string; refreshToken: string };
  /** The issued access token, decoded. */
  issued: DecodedJwt;
  /** The JWKS entry the issued token names, and the private key behind it. */
  jwk: JWK;
  signingKey: KeyObject;
  identityKey: KeyObject;
  attacker: ReturnType<typeof attackerRsaKey> & { kid: string; jkuUrl: string; jkuHits: () => number };
}

describeWithServices(
  ["postgres", "redis", "rabbitmq"],
  "token attacks on the supergraph (real PostgreSQL, Redis and RabbitMQ)",
  () => {
    let world: World;
    const cleanups: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      const id = runId();
      const databaseUrls = Object.fromEntries(
        SUBGRAPH_NAMES.map((name) => [name, databaseUrl(`orion_test_${id}_${name}`)]),
      ) as Record<SubgraphName, string>;
      cleanups.push(async () => {
        for (const url of Object.values(databaseUrls)) await dropDatabase(url);
      });
      const exchange = `orion.test.${id}`;
      cleanups.push(() => deleteRabbitMqObjects(exchange, declaredQueues()));
      const prefix = `test:${id}:`;
      cleanups.push(async () => {
        const store = await RedisKeyValueStore.connect({
          url: REAL_SERVICES.redis.url,
          prefix,
          logger: createLogger("test", "silent"),
        });
        await store.clear();
        await store.close();
      });
      const outboxDir = mkdtempSync(path.join(os.tmpdir(), "orion-token-attacks-"));
      cleanups.push(async () => rmSync(outboxDir, { recursive: true, force: true }));

      // The attacker's own key set, served where a `jku` header points: the router must never ask for it.
      const attacker = attackerRsaKey();
      const attackerKid = "attacker-key-1";
      let jkuHits = 0;
      const jkuServer = createServer((_req, res) => {
        jkuHits += 1;
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({ keys: [{ ...attacker.publicJwk, kid: attackerKid, alg: "RS256", use: "sig" }] }),
        );
      });
      await new Promise<void>((resolve) => jkuServer.listen(0, "127.0.0.1", resolve));
      cleanups.push(() => new Promise<void>((resolve) => jkuServer.close(() => resolve())));
      const jkuUrl = `http://127.0.0.1:${(jkuServer.address() as AddressInfo).port}/.well-known/jwks.json`;

      const keys = generateKeyMaterial();
      const supergraph = await startSupergraph({
        infrastructure: {
          kind: "services",
          databaseUrls,
          redis: { url: REAL_SERVICES.redis.url, prefix },
          amqp: { url: REAL_SERVICES.rabbitmq.url, exchange },
          keys,
          mail: { outboxDir, from: "ORION <no-reply@orion.test>" },
        },
        ports: { router: 0, auth: 0, user: 0, notification: 0, analytics: 0 },
        logLevel: "silent",
      });
      cleanups.push(() => supergraph.stop());

      const email = "mallory@example.com";
      const registered = await graphqlClient(supergraph.routerUrl)(RegisterDocument, {
        input: { email, password: PASSWORD, displayName: "Mallory" },
      });
      expect(registered.errors).toBeUndefined();
      const payload = registered.data!.register;
      const issued = decode(payload.accessToken);
      const jwks = (await (
        await fetch(new URL("/.well-known/jwks.json", supergraph.subgraphs.auth.url))
      ).json()) as { keys: JWK[] };
      const jwk = jwks.keys.find((key) => key.kid === issued.header.kid);
      if (!jwk) throw new Error(`the issued token's kid ${String(issued.header.kid)} is not in the JWKS`);
      world = {
        supergraph,
        user: {
          id: payload.user.id,
          email,
          accessToken: payload.accessToken,
          refreshToken: payload.refreshToken,
        },
        issued,
        jwk,
        signingKey: privateKeyFor(keys.authSigningKey, jwk),
        identityKey: createPrivateKey(keys.identityPrivateKey),
        attacker: { ...attacker, kid: attackerKid, jkuUrl, jkuHits: () => jkuHits },
      };
    }, 90_000);

    afterAll(async () => {
      for (const step of cleanups.reverse()) await step();
    });

    // ------------------------------------------------------------ through the router

    const viaRouter = (authorization: string) => post(world.supergraph.routerUrl, ME, {}, { authorization });

    /** The issued token's claims, re-signed with the real key after `change`: one altered claim at a time. */
    const resigned = (
      change: (payload: Record<string, unknown>) => void,
      header?: Record<string, unknown>,
    ) => {
      const payload: Record<string, unknown> = { ...world.issued.payload };
      change(payload);
      return sign({ ...world.issued.header, ...header } as DecodedJwt["header"], payload, world.signingKey);
    };

    it("accepts the issued token and a copy re-signed with the real key (the control for every case below)", async () => {
      for (const token of [world.user.accessToken, await resigned(() => undefined)]) {
        const { status, body } = await viaRouter(`Bearer ${token}`);
        expect({ status, body }).toEqual({
          status: 200,
          body: { data: { me: { id: world.user.id, email: world.user.email } } },
        });
      }
    });

    const attacks: [string, () => string | Promise<string>][] = [
      [
        'alg "none", no signature',
        () => compact({ ...world.issued.header, alg: "none" }, world.issued.payload),
      ],
      [
        'alg "none", the real signature kept',
        () => compact({ ...world.issued.header, alg: "none" }, world.issued.payload, world.issued.signature),
      ],
      [
        'alg "NONE", no signature',
        () => compact({ ...world.issued.header, alg: "NONE" }, world.issued.payload),
      ],
      ...[0, 1, 2].map((variant): [string, () => string] => [
        `HS256 keyed with the JWKS public key as PEM (${["SPKI", "SPKI trimmed", "PKCS#1"][variant]})`,
        () =>
          signHs256(
            { ...world.issued.header, alg: "HS256" },
            world.issued.payload,
            publicKeyPems(world.jwk)[variant]!,
          ),
      ]),
      [
        "HS256 keyed with the JWK's n (base64url text)",
        () => signHs256({ ...world.issued.header, alg: "HS256" }, world.issued.payload, world.jwk.n!),
      ],
      [
        "HS256 keyed with the modulus bytes",
        () =>
          signHs256(
            { ...world.issued.header, alg: "HS256" },
            world.issued.payload,
            Buffer.from(world.jwk.n!, "base64url"),
          ),
      ],
      [
        "HS256 keyed with the JWK as JSON",
        () =>
          signHs256(
            { ...world.issued.header, alg: "HS256" },
            world.issued.payload,
            JSON.stringify(world.jwk),
          ),
      ],
      [
        "an unknown kid, signed with the real key",
        () => resigned(() => undefined, { kid: "orion-no-such-key" }),
      ],
      ...["../../dev/null", "/dev/null", "' OR 1=1 --", "x' UNION SELECT 'secret' --"].flatMap(
        (kid): [string, () => string | Promise<string>][] => [
          [
            `kid ${JSON.stringify(kid)}, HS256 with an empty secret`,
            () => signHs256({ ...world.issued.header, alg: "HS256", kid }, world.issued.payload, ""),
          ],
          [
            `kid ${JSON.stringify(kid)}, HS256 keyed "secret"`,
            () => signHs256({ ...world.issued.header, alg: "HS256", kid }, world.issued.payload, "secret"),
          ],
          [
            `kid ${JSON.stringify(kid)}, RS256 by the attacker's key`,
            () => sign({ ...world.issued.header, kid }, world.issued.payload, world.attacker.privateKey),
          ],
        ],
      ),
      [
        "RS256 by the attacker's key under the real kid",
        () => sign(world.issued.header, world.issued.payload, world.attacker.privateKey),
      ],
      [
        "an embedded jwk header carrying the attacker's key (real kid)",
        () =>
          sign(
            { ...world.issued.header, jwk: world.attacker.publicJwk },
            world.issued.payload,
            world.attacker.privateKey,
          ),
      ],
      [
        "an embedded jwk header carrying the attacker's key (the attacker's kid)",
        () =>
          sign(
            { ...world.issued.header, kid: world.attacker.kid, jwk: world.attacker.publicJwk },
            world.issued.payload,
            world.attacker.privateKey,
          ),
      ],
      [
        "a jku header pointing at the attacker's key set (the attacker's kid)",
        () =>
          sign(
            { ...world.issued.header, kid: world.attacker.kid, jku: world.attacker.jkuUrl },
            world.issued.payload,
            world.attacker.privateKey,
          ),
      ],
      [
        "a jku header pointing at the attacker's key set (real kid)",
        () =>
          sign(
            { ...world.issued.header, jku: world.attacker.jkuUrl },
            world.issued.payload,
            world.attacker.privateKey,
          ),
      ],
      ["a wrong iss, signed with the real key", () => resigned((p) => (p.iss = "https://attacker.example"))],
      ["no iss, signed with the real key", () => resigned((p) => delete p.iss)],
      ["a wrong aud, signed with the real key", () => resigned((p) => (p.aud = "another-service"))],
      ["no aud, signed with the real key", () => resigned((p) => delete p.aud)],
      [
        "an expired token (exp in the past), signed with the real key",
        () =>
          resigned((p) => {
            p.iat = nowSeconds() - 3600;
            p.exp = nowSeconds() - 60;
          }),
      ],
      ["no exp (a token that never expires), signed with the real key", () => resigned((p) => delete p.exp)],
      [
        "a token not valid yet (nbf in the future), signed with the real key",
        () => resigned((p) => (p.nbf = nowSeconds() + 3600)),
      ],
      [
        "the payload tampered to roles ADMIN, signature kept",
        () => tampered((p) => (p.roles = [Role.USER, Role.ADMIN])),
      ],
      ["the payload tampered to another sub, signature kept", () => tampered((p) => (p.sub = randomUUID()))],
      [
        'typ "JWT" instead of "at+jwt", signed with the real key',
        () => resigned(() => undefined, { typ: "JWT" }),
      ],
      ["no typ, signed with the real key", () => resignedWithout("typ")],
      ["no sid, signed with the real key", () => resigned((p) => delete p.sid)],
      ["no sub, signed with the real key", () => resigned((p) => delete p.sub)],
    ];

    /** The issued token with its payload segment replaced; header and signature untouched. */
    function tampered(change: (payload: Record<string, unknown>) => void): string {
      const [header, , signature] = world.user.accessToken.split(".");
      const payload: Record<string, unknown> = { ...world.issued.payload };
      change(payload);
      return `${header}.${base64url(payload)}.${signature}`;
    }

    function resignedWithout(member: string): Promise<string> {
      const header: Record<string, unknown> = { ...world.issued.header };
      delete header[member];
      return sign(header as DecodedJwt["header"], world.issued.payload, world.signingKey);
    }

    it.each(attacks)("refuses a bearer token with %s: 401 UNAUTHENTICATED, no data", async (_name, forge) => {
      const { status, body } = await viaRouter(`Bearer ${await forge()}`);
      expect({ status, code: body.errors?.[0]?.extensions?.code, data: body.data ?? null }).toEqual({
        status: 401,
        code: "UNAUTHENTICATED",
        data: null,
      });
    });

    const malformed: [string, () => string][] = [
      ["the refresh token used as a bearer token", () => `Bearer ${world.user.refreshToken}`],
      ['"Bearer garbage"', () => "Bearer garbage"],
      ['"Bearer a.b.c"', () => "Bearer a.b.c"],
      ['"Bearer" alone', () => "Bearer"],
      ["a valid token followed by junk", () => `Bearer ${world.user.accessToken} junk`],
      ["a valid token with a trailing dot", () => `Bearer ${world.user.accessToken}.`],
      ["a valid token with no scheme", () => world.user.accessToken],
      [
        "Basic credentials",
        () => `Basic ${Buffer.from(`${world.user.email}:${PASSWORD}`).toString("base64")}`,
      ],
    ];

    it.each(malformed)(
      "refuses an Authorization header with %s: 401 UNAUTHENTICATED, no data",
      async (_name, value) => {
        const { status, body } = await viaRouter(value());
        expect({ status, code: body.errors?.[0]?.extensions?.code, data: body.data ?? null }).toEqual({
          status: 401,
          code: "UNAUTHENTICATED",
          data: null,
        });
      },
    );

    it("never fetched the key set a jku header pointed at", () => {
      expect(world.attacker.jkuHits()).toBe(0);
    });

    // ------------------------------------------------------------ straight at the subgraphs

    const entities = (selection: string) =>
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { ${selection} } } }`;

    interface Read {
      subgraph: SubgraphName;
      name: string;
      query: string;
      /** A value only the user (or the subgraph's data) could have produced: present iff the read worked. */
      answer: (data: Record<string, unknown>) => unknown;
    }
    const first = (data: Record<string, unknown>) => (data._entities as Record<string, unknown>[])[0]!;
    const reads: Read[] = [
      {
        subgraph: "auth",
        name: "mySessions",
        query: "{ mySessions { id current } }",
        answer: (d) => d.mySessions,
      },
      {
        subgraph: "auth",
        name: "User.email through _entities",
        query: entities("email"),
        answer: (d) => first(d).email,
      },
      {
        subgraph: "user",
        name: "User.profile through _entities",
        query: entities("profile { displayName }"),
        answer: (d) => (first(d).profile as { displayName: string }).displayName,
      },
      {
        subgraph: "notification",
        name: "User.notifications through _entities",
        query: entities("notifications { totalCount }"),
        answer: (d) => (first(d).notifications as { totalCount: number }).totalCount,
      },
      {
        subgraph: "analytics",
        name: "User.activity through _entities",
        query: entities("activity { eventCount }"),
        answer: (d) => (first(d).activity as { eventCount: number }).eventCount,
      },
    ];

    const direct = (read: Read, headers: Record<string, string>) =>
      post(
        world.supergraph.subgraphs[read.subgraph].url,
        read.query,
        { r: [{ __typename: "User", id: world.user.id }] },
        headers,
      );

    /** The caller as the router would assert it (cast: Identity may gain members this test does not need). */
    const identityOfUser = (): Identity =>
      ({
        kind: "user",
        userId: world.user.id,
        roles: [Role.USER],
        sessionId: String(world.issued.payload.sid),
        apiKeyId: null,
        scopes: null,
      }) as Identity;
    const assertionSignedWith = (key: KeyObject) =>
      signIdentityAssertion(identityOfUser(), { ip: null, userAgent: null }, key);

    it("answers private reads sent straight to a subgraph with an assertion signed by the router's key (control)", async () => {
      const real = await assertionSignedWith(world.identityKey);
      const copy = decode(real);
      const resignedAssertion = await sign(copy.header, copy.payload, world.identityKey);
      for (const assertion of [real, resignedAssertion]) {
        for (const read of reads) {
          // The profile and the welcome notifications come from the registration event: wait for it.
          await eventually(async () => {
            const { status, body } = await direct(read, { [IDENTITY_HEADER]: assertion });
            expect({ read: read.name, status, errors: body.errors }).toEqual({
              read: read.name,
              status: 200,
              errors: undefined,
            });
            expect(read.answer(body.data!)).toBeDefined();
          });
        }
      }
      const email = await direct(reads[1]!, { [IDENTITY_HEADER]: real });
      expect(first(email.body.data!).email).toBe(world.user.email);
    });

    it("refuses private reads sent straight to a subgraph with no identity: 401 UNAUTHENTICATED", async () => {
      for (const read of reads) {
        const { status, body } = await direct(read, {});
        expect({ read: read.name, status, codes: codes(body) }).toEqual({
          read: read.name,
          status: 401,
          codes: ["UNAUTHENTICATED"],
        });
        expect(JSON.stringify(body)).not.toContain(world.user.email);
      }
    });

    const forgedAssertions: [string, () => Promise<string> | string][] = [
      ["signed by another Ed25519 key", () => assertionSignedWith(generateKeyPairSync("ed25519").privateKey)],
      [
        "expired, signed with the router's key",
        async () => {
          const { header, payload } = decode(await assertionSignedWith(world.identityKey));
          return sign(
            header,
            { ...payload, iat: nowSeconds() - 600, exp: nowSeconds() - 300 },
            world.identityKey,
          );
        },
      ],
      [
        "alg none",
        async () => {
          const { header, payload } = decode(await assertionSignedWith(world.identityKey));
          return compact({ ...header, alg: "none" }, payload);
        },
      ],
      [
        "HS256 keyed with the router's public key",
        async () => {
          const { header, payload } = decode(await assertionSignedWith(world.identityKey));
          return signHs256({ ...header, alg: "HS256" }, payload, world.supergraph.keys.identityPublicKey);
        },
      ],
      ["the user's access token in its place", () => world.user.accessToken],
    ];

    it.each(forgedAssertions)(
      "refuses an identity assertion %s, on every subgraph: 401 UNAUTHENTICATED, no data",
      async (_name, forge) => {
        const assertion = await forge();
        for (const read of reads) {
          const { status, body } = await direct(read, { [IDENTITY_HEADER]: assertion });
          expect({ read: read.name, status, codes: codes(body), data: body.data ?? null }).toEqual({
            read: read.name,
            status: 401,
            codes: ["UNAUTHENTICATED"],
            data: null,
          });
        }
      },
    );
  },
);

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import express from "express";
import { parse } from "graphql";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { SMTPServer } from "smtp-server";

import { type RunningSupergraph, startSupergraph } from "../../cli/supergraph";
import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { dropDatabase } from "../../platform/database/database";
import { generateKeyMaterial } from "../../platform/identity/keys";
import type { Role } from "../../platform/identity/roles";
import { generateSigningKey, parseSigningKeyBundle } from "../../platform/identity/signing-keys";
import { createLogger } from "../../platform/logger";
import { RedisKeyValueStore } from "../../platform/store/redis-store";
import { JWKS_PATH, mountJwksRoute } from "../../router/jwks-route";
import { RegisterDocument } from "../../schema/generated/graphql";
import { SUBGRAPHS } from "../../subgraphs";
import { TokenIssuer } from "../../subgraphs/auth/services/token-issuer";
import { codesOf, graphqlClient } from "../support/graphql-client";
import {
  databaseUrl,
  deleteRabbitMqObjects,
  describeWithServices,
  REAL_SERVICES,
  runId,
} from "../support/services";

const silentLogger = () => createLogger("test", "silent");
const MeIdDocument = parse("query MeId { me { id } }") as TypedDocumentNode<
  { me: { id: string } | null },
  Record<string, never>
>;

/** The durable queues the subgraphs declare (names only: the handlers are never called). */
function declaredQueues(): string[] {
  const services = { db: {}, deps: {}, bus: {}, logger: {} } as never;
  return SUBGRAPH_NAMES.flatMap((name) =>
    (SUBGRAPHS[name].subscriptions?.(services) ?? []).map((subscription) => subscription.queue),
  );
}

interface JwkSet {
  keys: { kid: string; kty: string; alg: string; use: string; d?: string }[];
}

describeWithServices(
  ["postgres", "redis", "rabbitmq"],
  "several auth signing keys on real PostgreSQL, Redis and RabbitMQ",
  () => {
    // The supergraph's defaults (cli/supergraph.ts): the old key's tokens must differ only in the key.
    const ISSUER = "orion-auth";
    const AUDIENCE = "orion";
    const oldKey = generateSigningKey();
    const newKey = generateSigningKey();
    const [oldJwk, newJwk] = parseSigningKeyBundle(`${oldKey}\n${newKey}`);
    const cleanups: (() => Promise<void>)[] = [];
    let supergraph: RunningSupergraph;
    let request: ReturnType<typeof graphqlClient>;

    beforeAll(async () => {
      const id = runId();
      // Welcome e-mails go to a sink: the notification subgraph needs an SMTP peer, the test reads nothing.
      const smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ["STARTTLS"],
        onData(stream, _session, callback) {
          stream.on("data", () => undefined);
          stream.on("end", () => callback());
        },
      });
      await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", () => resolve()));
      cleanups.push(() => new Promise<void>((resolve) => smtp.close(() => resolve())));
      const smtpPort = (smtp.server.address() as AddressInfo).port;
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
          logger: silentLogger(),
        });
        await store.clear();
        await store.close();
      });
      supergraph = await startSupergraph({
        infrastructure: {
          kind: "services",
          databaseUrls,
          redis: { url: REAL_SERVICES.redis.url, prefix },
          amqp: { url: REAL_SERVICES.rabbitmq.url, exchange },
          // Oldest first, as `orion keys rotate` writes it: the new key signs, both verify.
          keys: { ...generateKeyMaterial(), authSigningKey: `${oldKey}\n${newKey}\n` },
          mail: { smtpUrl: `smtp://127.0.0.1:${smtpPort}`, from: "ORION <no-reply@orion.test>" },
        },
        ports: { router: 0, auth: 0, user: 0, notification: 0, analytics: 0 },
        logLevel: "silent",
        issuer: ISSUER,
        audience: AUDIENCE,
      });
      cleanups.push(() => supergraph.stop());
      request = graphqlClient(supergraph.routerUrl);
    }, 60_000);

    afterAll(async () => {
      for (const step of cleanups.reverse()) await step();
    });

    it("serves the auth subgraph's JWKS, with both keys, at the router's /.well-known/jwks.json", async () => {
      const fromAuth = await fetch(new URL(JWKS_PATH, supergraph.subgraphs.auth.url));
      const fromRouter = await fetch(new URL(JWKS_PATH, supergraph.routerUrl));
      expect(fromRouter.status).toBe(200);
      expect(fromRouter.headers.get("cache-control")).toBe("public, max-age=300");
      expect(fromRouter.headers.get("content-type")).toMatch(/^application\/json/);
      const authSet = (await fromAuth.json()) as JwkSet;
      expect(await fromRouter.json()).toEqual(authSet);
      expect(authSet.keys.map((key) => key.kid).sort()).toEqual([oldJwk!.kid, newJwk!.kid].sort());
      for (const key of authSet.keys) {
        expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
        expect(key.d).toBeUndefined();
      }
    });

    it("signs with the newest key, still accepts the older key's tokens, and refuses a key outside the bundle", async () => {
      const registered = await request(RegisterDocument, {
        input: {
          email: `rotation-${runId()}@example.com`,
          password: `Rotation ${runId()} lantern`,
          displayName: "Rotation",
        },
      });
      expect(registered.errors).toBeUndefined();
      const token = registered.data!.register.accessToken;
      expect(decodeProtectedHeader(token).kid).toBe(newJwk!.kid);
      // sub, sid and roles of a real session: the router may check that `sid` is an active session.
      const claims = decodeJwt(token) as { sub: string; sid: string; roles: Role[] };
      const subject = { userId: claims.sub, sessionId: claims.sid, roles: claims.roles };

      const asIssued = await request(MeIdDocument, {}, { token });
      expect(asIssued.errors).toBeUndefined();
      expect(asIssued.data!.me).toEqual({ id: claims.sub });

      // What auth issued before the rotation: the same claims, signed by the old key alone.
      const before = await TokenIssuer.create({ signingKey: oldKey, issuer: ISSUER, audience: AUDIENCE });
      const oldToken = await before.issueAccessToken(subject);
      expect(decodeProtectedHeader(oldToken).kid).toBe(oldJwk!.kid);
      const withOld = await request(MeIdDocument, {}, { token: oldToken });
      expect(withOld.errors).toBeUndefined();
      expect(withOld.status).toBe(200);
      expect(withOld.data!.me).toEqual({ id: claims.sub });

      // Well-formed in every other way, but signed by a key auth does not hold.
      const stranger = await TokenIssuer.create({
        signingKey: generateSigningKey(),
        issuer: ISSUER,
        audience: AUDIENCE,
      });
      const foreign = await request(MeIdDocument, {}, { token: await stranger.issueAccessToken(subject) });
      expect(codesOf(foreign)).toEqual(["UNAUTHENTICATED"]);
      expect(foreign.status).toBe(401);
      expect(foreign.data ?? null).toBeNull();
    });
  },
);

/** The router's JWKS route alone, against a scripted auth answer and clock (no services needed). */
describe("the router's JWKS route", () => {
  const AUTH_SET = { keys: [{ kty: "RSA", kid: "k1", n: "abc", e: "AQAB", alg: "RS256", use: "sig" }] };
  let server: Server;
  let url: string;
  let clock: number;
  let answers: (() => Promise<Response>)[];
  let calls: number;

  beforeEach(async () => {
    clock = 1_000_000;
    calls = 0;
    answers = [];
    const app = express();
    mountJwksRoute(app, {
      jwksUrl: "http://auth.invalid/.well-known/jwks.json",
      logger: silentLogger(),
      ttlMs: 60_000,
      retryAfterFailureMs: 5_000,
      maxStaleMs: 3_600_000,
      now: () => clock,
      fetch: async () => {
        calls += 1;
        const next = answers.shift();
        if (!next) throw new Error("auth unreachable");
        return next();
      },
    });
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${JWKS_PATH}`;
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const ok = (body: unknown) => async () => Response.json(body);
  const get = async () => {
    const response = await fetch(url);
    return {
      status: response.status,
      cacheControl: response.headers.get("cache-control"),
      body: (await response.json()) as unknown,
    };
  };

  it("answers 503 with a JSON error until auth has answered once", async () => {
    expect(await get()).toEqual({
      status: 503,
      cacheControl: "no-store",
      body: { error: "jwks_unavailable", message: expect.any(String) },
    });
    answers.push(async () => new Response("nope", { status: 500 }));
    clock += 5_000;
    expect((await get()).status).toBe(503);
    answers.push(ok(AUTH_SET));
    clock += 5_000;
    expect(await get()).toEqual({ status: 200, cacheControl: "public, max-age=300", body: AUTH_SET });
  });

  it("caches for the TTL, serves the last set stale while auth is down, then picks up the new set", async () => {
    answers.push(ok(AUTH_SET));
    const [first, second] = await Promise.all([get(), get()]);
    expect([first!.body, second!.body]).toEqual([AUTH_SET, AUTH_SET]);
    expect(calls).toBe(1); // concurrent requests share one fetch

    clock += 59_000;
    expect((await get()).body).toEqual(AUTH_SET);
    expect(calls).toBe(1);

    clock += 2_000; // expired, and auth is down: stale
    expect(await get()).toEqual({ status: 200, cacheControl: "public, max-age=300", body: AUTH_SET });
    expect(calls).toBe(2);
    clock += 1_000; // inside the back-off: no new attempt
    expect((await get()).body).toEqual(AUTH_SET);
    expect(calls).toBe(2);

    const rotated = { keys: [...AUTH_SET.keys, { ...AUTH_SET.keys[0]!, kid: "k2" }] };
    answers.push(ok(rotated));
    clock += 5_000;
    expect((await get()).body).toEqual(rotated);
    expect(calls).toBe(3);
  });

  it("stops serving a set older than the stale limit, and never passes on private key members", async () => {
    answers.push(ok({ keys: [{ ...AUTH_SET.keys[0]!, d: "secret", p: "x", q: "y" }] }));
    expect((await get()).body).toEqual(AUTH_SET);
    clock += 3_600_001;
    expect((await get()).status).toBe(503);
  });
});

/* eslint-disable max-lines -- one specification, run against two started supergraphs (embedded
   defaults and the real services); splitting its cases would start each of them once more. */
import { generateKeyPairSync } from "node:crypto";

import { importPKCS8, SignJWT } from "jose";

import type { RunningSupergraph } from "../../cli/supergraph";
import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { signIdentityAssertion } from "../../platform/identity/identity";
import { Role } from "../../platform/identity/roles";
import {
  LoginDocument,
  MarkNotificationReadDocument,
  MeDocument,
  MyNotificationsDocument,
  MySessionsDocument,
  RegisterDocument,
  TrackEventDocument,
  UpdateProfileDocument,
  UserProfileDocument,
  UsersDocument,
} from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf } from "../support/graphql-client";
import { describeWithServices } from "../support/services";
import { startTestSupergraph } from "../support/supergraph-fixture";

const PASSWORD = "orion e2e: a long passphrase";

/** Starts the whole supergraph (router + four subgraphs over HTTP) on the given infrastructure. */
const setup = (kind: "embedded" | "services") =>
  startTestSupergraph(kind, {
    // Background work (outbox polls, e-mail sweeps) would show up in the per-request SQL counts.
    outbox: { pollIntervalMs: 600_000 },
    mailDispatch: { sweepIntervalMs: 600_000 },
  });

function specifySupergraph(kind: "embedded" | "services") {
  let env: Awaited<ReturnType<typeof setup>>;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  async function register(email: string, displayName: string) {
    const response = await env.request(RegisterDocument, {
      input: { email, password: PASSWORD, displayName },
    });
    expect(response.errors).toBeUndefined();
    return { id: response.data!.register.user.id, token: response.data!.register.accessToken };
  }

  beforeAll(async () => {
    env = await setup(kind);
    alice = await register("  Alice@Example.COM ", "Alice");
    bob = await register("bob@example.com", "Bob");
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  it("registers a user with a normalised e-mail and an RS256 access token carrying a kid", async () => {
    const response = await env.request(LoginDocument, {
      input: { email: "alice@example.com", password: PASSWORD },
    });
    expect(response.errors).toBeUndefined();
    const payload = response.data!.login;
    expect(payload.user).toMatchObject({ id: alice.id, email: "alice@example.com", roles: ["USER"] });
    expect(payload.expiresIn).toBe(900);
    const header = JSON.parse(
      Buffer.from(payload.accessToken.split(".")[0]!, "base64url").toString(),
    ) as Record<string, string>;
    expect(header).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    expect(header.kid).toEqual(expect.any(String));
    expect(payload.refreshToken.length).toBeGreaterThanOrEqual(43);
  });

  it("answers `me` with fields from all four subgraphs once the registration events are consumed", async () => {
    const me = await eventually(async () => {
      const response = await env.request(MeDocument, {}, { token: alice.token });
      expect(response.errors).toBeUndefined();
      // The welcome in the inbox and by e-mail, and the e-mail asking to verify the address.
      expect(response.data!.me!.notifications.totalCount).toBe(3);
      // Analytics records both domain events: the registration and the verification request.
      expect(response.data!.me!.activity.eventCount).toBe(2);
      return response.data!.me!;
    });
    expect(me).toMatchObject({
      id: alice.id,
      email: "alice@example.com",
      emailVerified: false,
      roles: ["USER"],
    });
    expect(me.profile).toMatchObject({ displayName: "Alice", locale: "en", timezone: "UTC" });
    expect(me.preferences).toEqual({ theme: "SYSTEM", language: "en", marketingOptIn: false });
    const kinds = me.notifications.edges
      .map((edge) => [edge.node.channel, edge.node.kind, edge.node.status])
      .sort();
    expect(kinds).toEqual([
      ["EMAIL", "verify-email", "SENT"],
      ["EMAIL", "welcome", "SENT"],
      ["IN_APP", "welcome", "DELIVERED"],
    ]);
    expect(me.unreadNotificationCount).toBe(3);
    expect(me.activity.lastSeenAt).toEqual(expect.any(String));
  });

  it("sends the welcome e-mail to the registered address", async () => {
    const mail = await eventually(async () => {
      const found = env.mailbox
        .messages()
        .find(
          (message) => message.to.includes("alice@example.com") && message.raw.includes("Welcome to ORION"),
        );
      expect(found).toBeDefined();
      return found!;
    });
    expect(mail.raw).toContain("Welcome to ORION");
    expect(mail.raw).toContain("Hi Alice");
  });

  it("counts tracked events in the user's activity", async () => {
    const tracked = await env.request(
      TrackEventDocument,
      { input: { name: "page.viewed", properties: { page: "/home" } } },
      { token: bob.token },
    );
    expect(tracked.data?.trackEvent).toBe(true);
    await eventually(async () => {
      const response = await env.request(MeDocument, {}, { token: bob.token });
      expect(response.data!.me!.activity.eventCount).toBe(3);
    });
  });

  it("updates the caller's own profile and validates every field", async () => {
    await eventually(async () =>
      expect((await env.request(MeDocument, {}, { token: bob.token })).errors).toBeUndefined(),
    );
    const updated = await env.request(
      UpdateProfileDocument,
      { input: { bio: "Builds things", timezone: "Europe/Paris" } },
      { token: bob.token },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateProfile.profile).toMatchObject({
      displayName: "Bob",
      bio: "Builds things",
      timezone: "Europe/Paris",
    });
    const bad = await env.request(
      UpdateProfileDocument,
      { input: { timezone: "Mars/Olympus" } },
      { token: bob.token },
    );
    expect(codesOf(bad)).toEqual(["BAD_USER_INPUT"]);
    expect(bad.errors![0]!.extensions!.field).toBe("input.timezone");
  });

  it("refuses another user's profile, activity and notifications, and tells anonymous callers to sign in", async () => {
    const asBob = await env.request(UserProfileDocument, { id: alice.id }, { token: bob.token });
    expect(codesOf(asBob)).toContain("FORBIDDEN");
    expect(JSON.stringify(asBob.data)).not.toContain("alice@example.com");
    expect(asBob.data?.user ?? null).toBeNull();

    const anonymous = await env.request(UserProfileDocument, { id: alice.id }, {});
    expect(codesOf(anonymous)).toContain("UNAUTHENTICATED");

    const anonymousMe = await env.request(MeDocument, {}, {});
    expect(anonymousMe.errors).toBeUndefined();
    expect(anonymousMe.data!.me).toBeNull();
  });

  it("does not let a user mark someone else's notification read", async () => {
    const aliceMe = await env.request(MeDocument, {}, { token: alice.token });
    const notificationId = aliceMe.data!.me!.notifications.edges[0]!.node.id;
    const asBob = await env.request(
      MarkNotificationReadDocument,
      { id: notificationId },
      { token: bob.token },
    );
    expect(codesOf(asBob)).toEqual(["NOT_FOUND"]);
    const asAlice = await env.request(
      MarkNotificationReadDocument,
      { id: notificationId },
      { token: alice.token },
    );
    expect(asAlice.data!.markNotificationRead.readAt).toEqual(expect.any(String));
    const after = await env.request(MeDocument, {}, { token: alice.token });
    expect(after.data!.me!.unreadNotificationCount).toBe(2);
  });

  it("refuses a bad credential instead of treating the caller as anonymous", async () => {
    const forged = await env.request(MeDocument, {}, { token: `${alice.token.slice(0, -4)}AAAA` });
    expect(codesOf(forged)).toEqual(["UNAUTHENTICATED"]);
    expect(forged.status).toBe(401);
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const foreign = await new SignJWT({ roles: ["ADMIN"], sid: "x" })
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: "attacker" })
      .setSubject(alice.id)
      .setIssuer("orion-auth")
      .setAudience("orion")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(await importPKCS8(other, "RS256"));
    expect(codesOf(await env.request(MeDocument, {}, { token: foreign }))).toEqual(["UNAUTHENTICATED"]);
  });

  it("answers bad input with BAD_USER_INPUT naming the field, and a taken address with CONFLICT", async () => {
    const short = await env.request(RegisterDocument, {
      input: { email: "c@example.com", password: "short", displayName: "C" },
    });
    expect(codesOf(short)).toEqual(["BAD_USER_INPUT"]);
    expect(short.errors![0]!.extensions!.field).toBe("input.password");
    const badEmail = await env.request(RegisterDocument, {
      input: { email: "not-an-email", password: PASSWORD, displayName: "C" },
    });
    expect(badEmail.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.email" });
    const taken = await env.request(RegisterDocument, {
      input: { email: "ALICE@example.com", password: PASSWORD, displayName: "A" },
    });
    expect(codesOf(taken)).toEqual(["CONFLICT"]);
    expect(JSON.stringify(taken)).not.toMatch(/stack|at .*\.ts/);
  });

  it("gives the same answer for an unknown e-mail and a wrong password", async () => {
    const unknown = await env.request(LoginDocument, {
      input: { email: "nobody@example.com", password: PASSWORD },
    });
    const wrong = await env.request(LoginDocument, {
      input: { email: "alice@example.com", password: "wrong password here" },
    });
    expect(codesOf(unknown)).toEqual(["UNAUTHENTICATED"]);
    expect(unknown.errors![0]!.message).toBe(wrong.errors![0]!.message);
  });

  /** A third user, promoted to ADMIN in SQL so this suite stands apart from the bootstrap flow (identity-access.test.ts), signed in again. */
  let adminToken: string | undefined;
  async function signInAsAdmin(): Promise<string> {
    if (adminToken) return adminToken;
    const admin = await register("admin@example.com", "Admin");
    await env.supergraph.subgraphs.auth.db.orm.em
      .fork()
      .getConnection()
      .execute("update users set roles = '{USER,ADMIN}' where id = ?", [admin.id]);
    const login = await env.request(LoginDocument, {
      input: { email: "admin@example.com", password: PASSWORD },
    });
    adminToken = login.data!.login.accessToken;
    await eventually(async () => {
      const page = await env.request(UsersDocument, { first: 20 }, { token: adminToken });
      expect(page.errors).toBeUndefined();
      expect(page.data!.users.totalCount).toBe(3);
    });
    return adminToken;
  }

  it("lets only an ADMIN list users, and resolves a page of users with one query per subgraph", async () => {
    expect(codesOf(await env.request(UsersDocument, { first: 20 }, { token: bob.token }))).toContain(
      "FORBIDDEN",
    );
    const token = await signInAsAdmin();
    const before = queryCounts(env.supergraph);
    const page = await env.request(UsersDocument, { first: 20 }, { token });
    const after = queryCounts(env.supergraph);
    expect(page.data!.users.edges.map((edge) => edge.node.email).sort()).toEqual([
      "admin@example.com",
      "alice@example.com",
      "bob@example.com",
    ]);
    expect(subtract(after, before)).toEqual({ auth: 1, user: 1, notification: 1, analytics: 1 });
  });

  it("pages through users newest first, filters them by name, and refuses a cursor it did not issue", async () => {
    const token = await signInAsAdmin();
    const first = await env.request(UsersDocument, { first: 2 }, { token });
    expect(first.data!.users.edges.map((edge) => edge.node.profile.displayName)).toEqual(["Admin", "Bob"]);
    expect(first.data!.users).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const next = await env.request(
      UsersDocument,
      { first: 2, after: first.data!.users.pageInfo.endCursor },
      { token },
    );
    expect(next.data!.users.edges.map((edge) => edge.node.profile.displayName)).toEqual(["Alice"]);
    expect(next.data!.users).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: false } });

    // The public API says `first: Int = 20`: a client's variable left null means the default.
    const byNull = await env.request(UsersDocument, { first: null }, { token });
    expect(byNull.errors).toBeUndefined();
    expect(byNull.data).toEqual((await env.request(UsersDocument, {}, { token })).data);

    const found = await env.request(UsersDocument, { first: 20, search: "ALI" }, { token });
    expect(found.data!.users.edges.map((edge) => edge.node.id)).toEqual([alice.id]);
    expect(found.data!.users.totalCount).toBe(1);

    const notJson = Buffer.from('["2026-01-01T00:00:00Z","x"]').toString("base64url");
    for (const forged of ["not-a-cursor", notJson]) {
      const refused = await env.request(UsersDocument, { first: 2, after: forged }, { token });
      expect(refused.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
    }
  });

  it("pages through a user's notifications with cursors", async () => {
    const first = await env.request(MyNotificationsDocument, { first: 1 }, { token: bob.token });
    const inbox = first.data!.me!.notifications;
    expect(inbox).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    expect(inbox.edges).toHaveLength(1);
    const next = await env.request(
      MyNotificationsDocument,
      { first: 2, after: inbox.pageInfo.endCursor },
      { token: bob.token },
    );
    const rest = next.data!.me!.notifications;
    expect(rest).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: false } });
    expect(rest.edges.map((edge) => edge.node.id)).not.toContain(inbox.edges[0]!.node.id);
    expect(rest.edges).toHaveLength(2);

    // `first: Int = 20, unreadOnly: Boolean = false` in the public API: null means the default.
    const byNull = await env.request(
      MyNotificationsDocument,
      { first: null, unreadOnly: null },
      { token: bob.token },
    );
    expect(byNull.errors).toBeUndefined();
    expect(byNull.data).toEqual((await env.request(MyNotificationsDocument, {}, { token: bob.token })).data);
  });

  it("serves Apollo Sandbox to a browser on the router's GraphQL URL", async () => {
    const page = await fetch(env.supergraph.routerUrl, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/sandbox/i);
    // It opens on a document that shows how to retry a mutation safely.
    expect(html).toContain("Idempotency-Key");
  });

  it("applies each subgraph's ownership rules to fields the router reaches through _entities", async () => {
    const key = await importPKCS8(env.supergraph.keys.identityPrivateKey, "EdDSA");
    const asBob = await signIdentityAssertion(
      { kind: "user", userId: bob.id, roles: [Role.USER], sessionId: "s", apiKeyId: null, scopes: null },
      { ip: null, userAgent: null },
      key,
    );
    const entities = async (subgraph: SubgraphName, selection: string, userId: string) => {
      const response = await fetch(env.supergraph.subgraphs[subgraph].url, {
        method: "POST",
        headers: { "content-type": "application/json", "orion-identity": asBob! },
        body: JSON.stringify({
          query: `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { ${selection} } } }`,
          variables: { r: [{ __typename: "User", id: userId }] },
        }),
      });
      return (await response.json()) as {
        data?: { _entities: unknown[] };
        errors?: { extensions?: { code?: string } }[];
      };
    };
    const reads: [SubgraphName, string][] = [
      ["auth", "email"],
      ["user", "profile { displayName }"],
      ["notification", "unreadNotificationCount"],
      ["analytics", "activity { eventCount }"],
    ];
    for (const [subgraph, selection] of reads) {
      const others = await entities(subgraph, selection, alice.id);
      expect({ subgraph, codes: others.errors?.map((e) => e.extensions?.code) }).toEqual({
        subgraph,
        codes: ["FORBIDDEN"],
      });
      const own = await entities(subgraph, selection, bob.id);
      expect({ subgraph, errors: own.errors }).toEqual({ subgraph, errors: undefined });
    }
  });

  it("records a session's user agent as the router saw it, and never trusts forwarding headers sent to a subgraph", async () => {
    const viaRouter = await env.request(
      LoginDocument,
      { input: { email: "bob@example.com", password: PASSWORD } },
      { headers: { "user-agent": "orion-e2e/1.0" } },
    );
    const token = viaRouter.data!.login.accessToken;
    const sessions = await env.request(MySessionsDocument, {}, { token });
    const current = sessions.data!.mySessions.find((session) => session.current)!;
    expect(current).toMatchObject({ userAgent: "orion-e2e/1.0", ipAddress: expect.any(String) });

    // Straight to the auth subgraph, claiming an address: without the router's assertion, refused outright.
    const login = (headers: Record<string, string>) =>
      fetch(env.supergraph.subgraphs.auth.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-forwarded-for": "203.0.113.9",
          "user-agent": "forged/1.0",
          ...headers,
        },
        body: JSON.stringify({
          query: "mutation ($input: LoginInput!) { login(input: $input) { accessToken } }",
          variables: { input: { email: "bob@example.com", password: PASSWORD } },
        }),
      });
    expect((await login({})).status).toBe(401);
    // With an assertion, the client facts are the asserted ones, whatever the headers beside it say.
    const key = await importPKCS8(env.supergraph.keys.identityPrivateKey, "EdDSA");
    const asserted = await signIdentityAssertion(
      { kind: "anonymous" },
      { ip: "198.51.100.7", userAgent: "seen-by-router/1.0" },
      key,
    );
    const direct = await login({ "orion-identity": asserted });
    const directToken = ((await direct.json()) as { data: { login: { accessToken: string } } }).data.login
      .accessToken;
    const listed = await env.request(MySessionsDocument, {}, { token: directToken });
    const recorded = listed.data!.mySessions.find((session) => session.current)!;
    expect(recorded).toMatchObject({ ipAddress: "198.51.100.7", userAgent: "seen-by-router/1.0" });
  });

  it("answers /health and /ready on every service, and publishes the signing key as a JWKS", async () => {
    const services = [env.supergraph.router, ...Object.values(env.supergraph.subgraphs)];
    for (const service of services) {
      const health = await fetch(new URL("/health", service.url));
      expect({ service: service.name, status: health.status }).toEqual({
        service: service.name,
        status: 200,
      });
      const ready = (await (await fetch(new URL("/ready", service.url))).json()) as { status: string };
      expect({ service: service.name, ready: ready.status }).toEqual({
        service: service.name,
        ready: "ready",
      });
    }
    const jwks = (await (
      await fetch(new URL("/.well-known/jwks.json", env.supergraph.subgraphs.auth.url))
    ).json()) as {
      keys: { kid: string; alg: string; kty: string; d?: string }[];
    };
    const kid = (
      JSON.parse(Buffer.from(alice.token.split(".")[0]!, "base64url").toString()) as { kid: string }
    ).kid;
    expect(jwks.keys).toEqual([expect.objectContaining({ kid, alg: "RS256", kty: "RSA" })]);
    expect(jwks.keys[0]!.d).toBeUndefined(); // the public half only
  });

  it("refuses a request body over the limit with 413 and a GraphQL-shaped error", async () => {
    const response = await fetch(env.supergraph.routerUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ me { id } }", variables: { padding: "x".repeat(200_000) } }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      errors: [{ message: "Request body too large", extensions: { code: "BAD_REQUEST" } }],
    });
  });

  it("validates tracked events: name pattern and properties size", async () => {
    const badName = await env.request(
      TrackEventDocument,
      { input: { name: "Page Viewed!" } },
      { token: bob.token },
    );
    expect(badName.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.name" });
    const huge = await env.request(
      TrackEventDocument,
      { input: { name: "page.viewed", properties: { blob: "x".repeat(5000) } } },
      { token: bob.token },
    );
    expect(huge.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.properties" });
    const anonymous = await env.request(TrackEventDocument, { input: { name: "page.viewed" } }, {});
    expect(codesOf(anonymous)).toEqual(["UNAUTHENTICATED"]);
  });

  it("refuses a forged identity assertion sent straight to a subgraph, even through _entities", async () => {
    const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { profile { displayName } } } }`;
    const call = (headers: Record<string, string>) =>
      fetch(env.supergraph.subgraphs.user.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query, variables: { r: [{ __typename: "User", id: alice.id }] } }),
      }).then((r) => r.json() as Promise<{ errors?: { extensions?: { code?: string } }[]; data?: unknown }>);
    const anonymous = await call({});
    expect(anonymous.errors?.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
    expect(JSON.stringify(anonymous.data ?? null)).not.toContain("Alice");
    const forged = await call({ "orion-identity": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." });
    expect(forged.errors?.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
  });
}

function queryCounts(supergraph: RunningSupergraph): Record<SubgraphName, number> {
  return Object.fromEntries(
    SUBGRAPH_NAMES.map((name) => [name, supergraph.subgraphs[name].db.queryCount()]),
  ) as Record<SubgraphName, number>;
}

function subtract(a: Record<string, number>, b: Record<string, number>) {
  return Object.fromEntries(Object.keys(a).map((key) => [key, a[key]! - b[key]!]));
}

describe("the supergraph on embedded defaults (embedded PostgreSQL, in-process bus, in-memory store)", () => {
  specifySupergraph("embedded");
});

describeWithServices(
  ["postgres", "redis", "rabbitmq"],
  "the supergraph on real PostgreSQL, Redis and RabbitMQ",
  () => {
    specifySupergraph("services");
  },
);

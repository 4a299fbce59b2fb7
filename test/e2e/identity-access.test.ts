/* eslint-disable max-lines -- every case runs against one started supergraph (seconds to start)
   and its first ADMIN; splitting the file would start another. */
import { UserDeleted } from "../../contracts/events/auth";
import { handle, subscription } from "../../platform/events/event-bus";
import {
  AuditEventsDocument,
  CreateApiKeyDocument,
  DeleteMyAccountDocument,
  LoginDocument,
  MyApiKeysDocument,
  MySessionsDocument,
  RefreshSessionDocument,
  RevokeApiKeyDocument,
  SetUserRolesDocument,
  TrackEventDocument,
  UsersDocument,
  VerifyEmailDocument,
} from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf } from "../support/graphql-client";
import {
  PASSWORD,
  rawDocument,
  register,
  type SignedIn,
  tokenFromMail,
  uniqueEmail,
} from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";

// Access through the router on real PostgreSQL, Redis and RabbitMQ: API keys and their scopes, the
// first ADMIN, role changes, account deletion and the audit trail.

const ME = rawDocument<{ me: { id: string; email: string | null; roles: string[] | null } | null }>(
  "{ me { id email roles } }",
);
const ADMIN_EMAIL = `root-${process.pid}@example.com`;

describeWithServices(
  ["postgres", "redis", "rabbitmq"],
  "identity: API keys, roles, deletion and audit",
  () => {
    let env: TestSupergraph;
    let admin: SignedIn;

    beforeAll(async () => {
      env = await startTestSupergraph("services", { auth: { adminEmails: [ADMIN_EMAIL.toUpperCase()] } });
      // The first ADMIN: a configured address becomes ADMIN once it proves it owns the mailbox.
      const root = await register(env, ADMIN_EMAIL);
      expect(codesOf(await env.request(UsersDocument, {}, { token: root.token }))).toEqual(["FORBIDDEN"]);
      const token = await tokenFromMail(env.mailbox, ADMIN_EMAIL, "/verify-email");
      expect((await env.request(VerifyEmailDocument, { token })).data?.verifyEmail).toBe(true);
      const refreshed = await env.request(RefreshSessionDocument, { refreshToken: root.refreshToken });
      expect([...refreshed.data!.refreshSession.user.roles].sort()).toEqual(["ADMIN", "USER"]);
      admin = {
        ...root,
        token: refreshed.data!.refreshSession.accessToken,
        refreshToken: refreshed.data!.refreshSession.refreshToken,
      };
    }, 60_000);

    afterAll(async () => {
      await env?.stop();
    });

    const withKey = (secret: string) => ({ headers: { "x-api-key": secret } });

    async function createKey(owner: SignedIn, scopes: string[], expiresAt?: string) {
      const response = await env.request(
        CreateApiKeyDocument,
        { input: { name: `key ${scopes.join(" ")}`, scopes, expiresAt } },
        { token: owner.token },
      );
      expect(response.errors).toBeUndefined();
      return response.data!.createApiKey;
    }

    describe("the first ADMIN and roles", () => {
      it("makes a configured address ADMIN once verified, and lets that ADMIN list users", async () => {
        expect((await env.request(ME, {}, { token: admin.token })).data?.me?.roles).toEqual(
          expect.arrayContaining(["ADMIN", "USER"]),
        );
        const users = await env.request(UsersDocument, {}, { token: admin.token });
        expect(users.errors).toBeUndefined();
      });

      it("lets only an ADMIN set roles, effective at the user's next refresh, and keeps one ADMIN", async () => {
        const bob = await register(env, uniqueEmail("bob"));
        const self = await env.request(
          SetUserRolesDocument,
          { userId: bob.id, roles: ["ADMIN"] },
          { token: bob.token },
        );
        expect(codesOf(self)).toEqual(["FORBIDDEN"]);
        const anonymous = await env.request(SetUserRolesDocument, { userId: bob.id, roles: ["ADMIN"] });
        expect(codesOf(anonymous)).toEqual(["UNAUTHENTICATED"]);

        const promoted = await env.request(
          SetUserRolesDocument,
          { userId: bob.id, roles: ["USER", "ADMIN", "USER"] },
          { token: admin.token },
        );
        expect(promoted.data?.setUserRoles).toEqual({ id: bob.id, roles: ["ADMIN", "USER"] });
        // The access token in hand still says USER; the next refresh carries ADMIN.
        expect(codesOf(await env.request(UsersDocument, {}, { token: bob.token }))).toEqual(["FORBIDDEN"]);
        const refreshed = await env.request(RefreshSessionDocument, { refreshToken: bob.refreshToken });
        const bobAdmin = refreshed.data!.refreshSession.accessToken;
        expect((await env.request(UsersDocument, {}, { token: bobAdmin })).errors).toBeUndefined();

        for (const [roles, code, field] of [
          [[], "BAD_USER_INPUT", "roles"],
          [["ROOT"], "BAD_USER_INPUT", undefined],
        ] as const) {
          const bad = await env.request(
            rawDocument(
              `mutation($roles: [Role!]!) { setUserRoles(userId: "${bob.id}", roles: $roles) { id } }`,
            ),
            { roles },
            { token: admin.token },
          );
          expect(codesOf(bad)).toEqual([code]);
          if (field) expect(bad.errors![0]!.extensions!.field).toBe(field);
        }
        const unknown = await env.request(
          SetUserRolesDocument,
          { userId: "00000000-0000-4000-8000-000000000000", roles: ["USER"] },
          { token: admin.token },
        );
        expect(codesOf(unknown)).toEqual(["NOT_FOUND"]);

        // Two ADMINs: one may step down; the last may not.
        const down = await env.request(
          SetUserRolesDocument,
          { userId: bob.id, roles: ["USER"] },
          { token: admin.token },
        );
        expect(down.data?.setUserRoles.roles).toEqual(["USER"]);
        const last = await env.request(
          SetUserRolesDocument,
          { userId: admin.id, roles: ["USER"] },
          { token: admin.token },
        );
        expect(codesOf(last)).toEqual(["CONFLICT"]);
      });
    });

    describe("API keys", () => {
      it("shows the secret once, stores only its hash and prefix, and lists keys without secrets", async () => {
        const owner = await register(env, uniqueEmail("keys"));
        const created = await createKey(owner, ["analytics:write"]);
        expect(created.secret).toMatch(/^ork_[A-Za-z0-9_-]{43}$/);
        expect(created.secret.startsWith(created.apiKey.prefix)).toBe(true);
        expect(created.apiKey.prefix.length).toBeLessThan(16);
        const listed = await env.request(MyApiKeysDocument, {}, { token: owner.token });
        expect(listed.data!.myApiKeys).toEqual([
          expect.objectContaining({
            id: created.apiKey.id,
            prefix: created.apiKey.prefix,
            scopes: ["analytics:write"],
          }),
        ]);
        expect(JSON.stringify(listed)).not.toContain(created.secret);
        const rows = await env.supergraph.subgraphs.auth.db.orm.em
          .fork()
          .getConnection()
          .execute("select * from api_keys where id = ?", [created.apiKey.id]);
        expect(JSON.stringify(rows)).not.toContain(created.secret.slice(created.apiKey.prefix.length));
      });

      it("lets a key do what its scopes allow and nothing else, and never manage credentials", async () => {
        const owner = await register(env, uniqueEmail("scoped"));
        const { secret } = await createKey(owner, ["analytics:write"]);
        const tracked = await env.request(
          TrackEventDocument,
          { input: { name: "key.used" } },
          withKey(secret),
        );
        expect(tracked.errors).toBeUndefined();
        expect(tracked.data?.trackEvent).toBe(true);

        const id = await env.request(
          rawDocument<{ me: { id: string } }>("{ me { id } }"),
          {},
          withKey(secret),
        );
        expect(id.data?.me.id).toBe(owner.id);
        // email and roles need user:read; being non-null, their refusal takes `me` with them.
        const me = await env.request(ME, {}, withKey(secret));
        expect(me.data?.me ?? null).toBeNull();
        expect(new Set(codesOf(me))).toEqual(new Set(["FORBIDDEN"]));
        for (const document of [
          rawDocument("{ mySessions { id } }"),
          rawDocument("{ myApiKeys { id } }"),
          rawDocument(
            'mutation { createApiKey(input: { name: "x", scopes: ["analytics:write"] }) { secret } }',
          ),
          rawDocument("mutation { logoutEverywhere }"),
          rawDocument('mutation { deleteMyAccount(password: "orion e2e: a long passphrase") }'),
          rawDocument('mutation { changePassword(input: { currentPassword: "a", newPassword: "b" }) }'),
        ]) {
          const response = await env.request(document, {}, withKey(secret));
          expect({ document: document.loc?.source.body, codes: codesOf(response) }).toEqual({
            document: document.loc?.source.body,
            codes: ["FORBIDDEN"],
          });
        }
        const reader = await createKey(owner, ["user:read"]);
        expect((await env.request(ME, {}, withKey(reader.secret))).data?.me).toMatchObject({
          email: owner.email,
        });
        expect(
          codesOf(await env.request(TrackEventDocument, { input: { name: "x.y" } }, withKey(reader.secret))),
        ).toEqual(["FORBIDDEN"]);
      });

      it("records when a key was last used", async () => {
        const owner = await register(env, uniqueEmail("used"));
        const { secret, apiKey } = await createKey(owner, ["analytics:write"]);
        expect(
          (await env.request(MyApiKeysDocument, {}, { token: owner.token })).data!.myApiKeys[0]!.lastUsedAt,
        ).toBeNull();
        await env.request(TrackEventDocument, { input: { name: "key.used" } }, withKey(secret));
        await eventually(async () => {
          const [key] = (await env.request(MyApiKeysDocument, {}, { token: owner.token })).data!.myApiKeys;
          expect(key).toMatchObject({ id: apiKey.id, lastUsedAt: expect.any(String) });
        });
      });

      it("refuses a revoked key on the next request, an expired key, and a made-up key, with 401", async () => {
        const owner = await register(env, uniqueEmail("revoke"));
        const { secret, apiKey } = await createKey(owner, ["analytics:write"]);
        expect(
          (await env.request(TrackEventDocument, { input: { name: "a.b" } }, withKey(secret))).status,
        ).toBe(200);
        const revoked = await env.request(RevokeApiKeyDocument, { id: apiKey.id }, { token: owner.token });
        expect(revoked.data?.revokeApiKey).toBe(true);
        const after = await env.request(TrackEventDocument, { input: { name: "a.b" } }, withKey(secret));
        expect(after.status).toBe(401);
        expect(codesOf(after)).toEqual(["UNAUTHENTICATED"]);
        expect((await env.request(MyApiKeysDocument, {}, { token: owner.token })).data!.myApiKeys).toEqual(
          [],
        );
        expect(
          codesOf(await env.request(RevokeApiKeyDocument, { id: apiKey.id }, { token: owner.token })),
        ).toEqual(["NOT_FOUND"]);

        const soon = await createKey(owner, ["analytics:write"], new Date(Date.now() + 1500).toISOString());
        expect(
          (await env.request(TrackEventDocument, { input: { name: "a.b" } }, withKey(soon.secret))).status,
        ).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 1600));
        const expired = await env.request(
          TrackEventDocument,
          { input: { name: "a.b" } },
          withKey(soon.secret),
        );
        expect(expired.status).toBe(401);

        for (const secret of ["ork_" + "A".repeat(43), "garbage", "ork_short"]) {
          const response = await env.request(TrackEventDocument, { input: { name: "a.b" } }, withKey(secret));
          expect(response.status).toBe(401);
          expect(codesOf(response)).toEqual(["UNAUTHENTICATED"]);
        }
        const both = await env.request(ME, {}, { token: owner.token, headers: { "x-api-key": secret } });
        expect(both.status).toBe(401);
      });

      it("refuses another user's key id, bad input, and the admin scope to a non-ADMIN", async () => {
        const owner = await register(env, uniqueEmail("owner"));
        const other = await register(env, uniqueEmail("other"));
        const { apiKey } = await createKey(owner, ["user:read"]);
        expect(
          codesOf(await env.request(RevokeApiKeyDocument, { id: apiKey.id }, { token: other.token })),
        ).toEqual(["NOT_FOUND"]);
        const invalid: [{ name: string; scopes: string[]; expiresAt?: string }, string][] = [
          [{ name: "", scopes: ["user:read"] }, "input.name"],
          [{ name: "k", scopes: [] }, "input.scopes"],
          [{ name: "k", scopes: ["root"] }, "input.scopes.0"],
          [{ name: "k", scopes: ["user:read"], expiresAt: "2001-01-01T00:00:00Z" }, "input.expiresAt"],
        ];
        for (const [input, field] of invalid) {
          const response = await env.request(CreateApiKeyDocument, { input }, { token: owner.token });
          expect({ field, codes: codesOf(response) }).toEqual({ field, codes: ["BAD_USER_INPUT"] });
          expect(response.errors![0]!.extensions!.field).toBe(field);
        }
        expect(
          codesOf(
            await env.request(
              CreateApiKeyDocument,
              { input: { name: "k", scopes: ["admin"] } },
              { token: owner.token },
            ),
          ),
        ).toEqual(["FORBIDDEN"]);
        const adminKey = await createKey(admin, ["admin", "user:read"]);
        const listed = await env.request(
          rawDocument<{ users: { totalCount: number; edges: { node: { email: string } }[] } }>(
            "{ users(first: 5) { totalCount edges { node { id email } } } }",
          ),
          {},
          withKey(adminKey.secret),
        );
        expect(listed.errors).toBeUndefined();
        expect(listed.data!.users.totalCount).toBeGreaterThan(1);
        // The same key without analytics:read sees no one's activity.
        const activity = await env.request(
          rawDocument("{ users(first: 1) { edges { node { activity { eventCount } } } } }"),
          {},
          withKey(adminKey.secret),
        );
        expect(new Set(codesOf(activity))).toEqual(new Set(["FORBIDDEN"]));
      });
    });

    describe("account deletion and audit", () => {
      it("deletes an account at once: sessions, keys and login go, the event is published", async () => {
        const email = uniqueEmail("leaver");
        const leaver = await register(env, email);
        const { secret } = await createKey(leaver, ["analytics:write"]);
        const deleted: string[] = [];
        const unsubscribe = await env.supergraph.bus.subscribe(
          subscription(`test.deleted.${process.pid}`, [
            handle(UserDeleted, async (payload) => void deleted.push(payload.userId)),
          ]),
        );
        try {
          const wrong = await env.request(
            DeleteMyAccountDocument,
            { password: "not the password" },
            { token: leaver.token },
          );
          expect(codesOf(wrong)).toEqual(["BAD_USER_INPUT"]);
          expect(wrong.errors![0]!.extensions!.field).toBe("password");
          const done = await env.request(
            DeleteMyAccountDocument,
            { password: PASSWORD },
            { token: leaver.token },
          );
          expect(done.data?.deleteMyAccount).toBe(true);
          const me = await env.request(ME, {}, { token: leaver.token });
          expect(me.status).toBe(401);
          expect(codesOf(me)).toEqual(["UNAUTHENTICATED"]);
          expect(
            (await env.request(TrackEventDocument, { input: { name: "a.b" } }, withKey(secret))).status,
          ).toBe(401);
          expect(codesOf(await env.request(LoginDocument, { input: { email, password: PASSWORD } }))).toEqual(
            ["UNAUTHENTICATED"],
          );
          await eventually(async () => expect(deleted).toContain(leaver.id));
        } finally {
          await unsubscribe();
          await env.deleteQueues([`test.deleted.${process.pid}`]);
        }
      });

      it("records security events with actor, IP, user agent and correlation id, for ADMIN eyes only", async () => {
        const email = uniqueEmail("audited");
        const user = await register(env, email);
        await env.request(
          LoginDocument,
          { input: { email, password: "wrong wrong wrong" } },
          {
            headers: {
              "x-request-id": "audit-trail-test-1",
              "user-agent": "audit-agent/1.0",
              "x-forwarded-for": "192.0.2.44",
            },
          },
        );
        const trail = await env.request(
          AuditEventsDocument,
          { userId: user.id, type: "LOGIN_FAILED" },
          { token: admin.token },
        );
        expect(trail.errors).toBeUndefined();
        expect(trail.data!.auditEvents.edges.map((edge) => edge.node)).toEqual([
          expect.objectContaining({
            type: "LOGIN_FAILED",
            userId: user.id,
            actorId: null,
            ipAddress: "192.0.2.44",
            userAgent: "audit-agent/1.0",
            correlationId: "audit-trail-test-1",
          }),
        ]);
        const all = await env.request(AuditEventsDocument, { userId: user.id }, { token: admin.token });
        expect(all.data!.auditEvents.edges.map((edge) => edge.node.type)).toEqual(
          expect.arrayContaining(["USER_REGISTERED", "LOGIN_FAILED"]),
        );
        // `first: Int = 20`, as every paginated field: null means the default page.
        const byNull = await env.request(AuditEventsDocument, { first: null }, { token: admin.token });
        expect(byNull.errors).toBeUndefined();
        expect(byNull.data).toEqual(
          (await env.request(AuditEventsDocument, {}, { token: admin.token })).data,
        );
        const page = await env.request(AuditEventsDocument, { first: 1 }, { token: admin.token });
        expect(page.data!.auditEvents.pageInfo.hasNextPage).toBe(true);
        const next = await env.request(
          AuditEventsDocument,
          { first: 1, after: page.data!.auditEvents.pageInfo.endCursor },
          { token: admin.token },
        );
        expect(next.data!.auditEvents.edges[0]!.node.id).not.toBe(page.data!.auditEvents.edges[0]!.node.id);

        expect(codesOf(await env.request(AuditEventsDocument, {}, { token: user.token }))).toEqual([
          "FORBIDDEN",
        ]);
        expect(codesOf(await env.request(AuditEventsDocument, {}))).toEqual(["UNAUTHENTICATED"]);
        expect(
          codesOf(await env.request(AuditEventsDocument, { first: 500 }, { token: admin.token })),
        ).toEqual(["BAD_USER_INPUT"]);
        expect((await env.request(MySessionsDocument, {}, { token: user.token })).errors).toBeUndefined();
      });
    });
  },
);

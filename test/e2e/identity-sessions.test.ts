/* eslint-disable max-lines -- every case runs against one started supergraph (seconds to start)
   behind a Redis proxy; splitting the file would start another. */
import { decodeJwt, decodeProtectedHeader } from "jose";

import { hashSecret } from "../../platform/identity/credential-store";
import {
  ChangePasswordDocument,
  LoginDocument,
  LogoutDocument,
  LogoutEverywhereDocument,
  MySessionsDocument,
  RefreshSessionDocument,
  RegisterDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  RevokeSessionDocument,
  UpdateProfileDocument,
  VerifyEmailDocument,
} from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf } from "../support/graphql-client";
import { login, PASSWORD, rawDocument, register, tokenFromMail, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import {
  connectTestRedis,
  startTestSupergraph,
  subgraphSql,
  type TestSupergraph,
} from "../support/supergraph-fixture";
import { type RedisProxy, startRedisProxy } from "../support/tcp-proxy";

// Identity through the router on real PostgreSQL, Redis and RabbitMQ: passwords, tokens, refresh
// rotation, sessions and their instant revocation, password reset, e-mail verification, brute force.

const ME_ID = rawDocument<{ me: { id: string } | null }>("{ me { id emailVerified } }");
const from = (ip: string) => ({ "x-forwarded-for": ip });

describeWithServices(["postgres", "redis", "rabbitmq"], "identity: passwords, tokens and sessions", () => {
  let env: TestSupergraph;
  let redisProxy: RedisProxy;

  beforeAll(async () => {
    redisProxy = await startRedisProxy();
    env = await startTestSupergraph("services", {
      // The router reaches Redis through a proxy the outage spec can cut; the subgraphs do not.
      routerRedisUrl: redisProxy.url,
      auth: {
        loginLimits: {
          perAccountAndIp: { points: 3, durationSeconds: 600, blockSeconds: 600 },
          perIp: { points: 8, durationSeconds: 600, blockSeconds: 600 },
        },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    await redisProxy?.close();
  });

  const sqlOf = <T>(sql: string, params: unknown[] = []) => subgraphSql<T>(env, "auth", sql, params);

  describe("passwords", () => {
    it("uses the whole of a long non-ASCII password, and tells apart passwords sharing their first 72 bytes", async () => {
      const unicode = "пароль-密码-🔐-".repeat(6).slice(0, 64);
      expect([...unicode].length).toBeLessThanOrEqual(64);
      expect(Buffer.byteLength(unicode)).toBeGreaterThan(72);
      const email = uniqueEmail("unicode");
      await register(env, email, unicode);
      await expect(login(env, email, unicode)).resolves.toMatchObject({ email });
      // The last character replaced whole: cutting a UTF-16 unit could leave half an emoji, which
      // is not Unicode and refused as BAD_USER_INPUT before any password check (decision 004).
      const wrong = [...unicode].slice(0, -1).join("") + "x";
      await expect(login(env, email, wrong, from("198.51.100.1"))).rejects.toThrow(
        /Invalid e-mail or password/,
      );

      const base = "b".repeat(36) + "c".repeat(36);
      const other = uniqueEmail("long");
      await register(env, other, `${base}-first`);
      await expect(login(env, other, `${base}-first`)).resolves.toMatchObject({ email: other });
      await expect(login(env, other, `${base}-other`, from("198.51.100.2"))).rejects.toThrow(
        /Invalid e-mail or password/,
      );

      const [row] = await sqlOf<{ password_hash: string }>(
        "select password_hash from users where email = ?",
        [other],
      );
      expect(row!.password_hash).toMatch(/^\$2[aby]\$12\$/);
    });

    it("refuses short, oversized and common passwords with BAD_USER_INPUT before hashing", async () => {
      const attempt = (password: string) =>
        env.request(RegisterDocument, {
          input: { email: uniqueEmail("policy"), password, displayName: "P" },
        });
      for (const [password, message] of [
        ["eleven char", /at least 12/],
        ["x".repeat(257), /at most 256/],
        ["Password1234", /too common/],
        ["correct horse battery staple", /too common/],
        ["P@ssw0rd1234", /too common/],
      ] as const) {
        const response = await attempt(password);
        expect(codesOf(response)).toEqual(["BAD_USER_INPUT"]);
        expect(response.errors![0]!.extensions!.field).toBe("input.password");
        expect(response.errors![0]!.message).toMatch(message);
      }
      const login = await env.request(LoginDocument, {
        input: { email: "a@example.com", password: "y".repeat(300) },
      });
      expect(codesOf(login)).toEqual(["BAD_USER_INPUT"]);
      expect(login.errors![0]!.extensions!.field).toBe("input.password");
    });

    it("normalises e-mail addresses (Unicode NFKC, case, spaces) for registration and login", async () => {
      const local = `nfkc${process.pid}`;
      // Full-width letters and at-sign: NFKC folds them to ASCII.
      const fullWidth = [...`${local.toUpperCase()}`]
        .map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))
        .join("");
      const user = await register(env, ` ${fullWidth}＠Example.COM `);
      await expect(login(env, `${local}@example.com`)).resolves.toMatchObject({ id: user.id });
      const again = await env.request(RegisterDocument, {
        input: { email: `${local}@EXAMPLE.com`, password: PASSWORD, displayName: "Dup" },
      });
      expect(codesOf(again)).toEqual(["CONFLICT"]);
    });
  });

  describe("tokens and refresh", () => {
    it("issues RS256 access tokens with kid, iss, aud, sub, sid, roles and scope, and typ at+jwt", async () => {
      const user = await register(env, uniqueEmail("claims"));
      expect(decodeProtectedHeader(user.token)).toMatchObject({
        alg: "RS256",
        typ: "at+jwt",
        kid: expect.any(String),
      });
      const claims = decodeJwt(user.token);
      expect(claims).toMatchObject({
        iss: "orion-auth",
        aud: "orion",
        sub: user.id,
        sid: user.sessionId,
        roles: ["USER"],
      });
      expect(String(claims.scope).split(" ")).toEqual(
        expect.arrayContaining(["user:read", "user:write", "analytics:write"]),
      );
      expect(String(claims.scope).split(" ")).not.toContain("admin");
      expect(claims.exp! - claims.iat!).toBe(900);
      // Opaque refresh tokens of 256 bits, stored only as hashes.
      expect(user.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const redis = await connectTestRedis(env.redisPrefix!);
      try {
        expect(await redis.get(`auth:refresh:${hashSecret(user.refreshToken)}`)).not.toBeNull();
        expect(await redis.get(`auth:refresh:${user.refreshToken}`)).toBeNull();
      } finally {
        await redis.close();
      }
    });

    it("rotates refresh tokens; reusing a rotated one ends the whole session and is audited", async () => {
      const user = await register(env, uniqueEmail("rotate"));
      const first = await env.request(RefreshSessionDocument, { refreshToken: user.refreshToken });
      expect(first.errors).toBeUndefined();
      const next = first.data!.refreshSession;
      expect(next.refreshToken).not.toBe(user.refreshToken);
      expect(decodeJwt(next.accessToken).sid).toBe(user.sessionId);
      expect((await env.request(ME_ID, {}, { token: next.accessToken })).data?.me?.id).toBe(user.id);

      const replay = await env.request(RefreshSessionDocument, { refreshToken: user.refreshToken });
      expect(codesOf(replay)).toEqual(["UNAUTHENTICATED"]);
      // The family is gone: the newest refresh token and the newest access token are dead too.
      expect(codesOf(await env.request(RefreshSessionDocument, { refreshToken: next.refreshToken }))).toEqual(
        ["UNAUTHENTICATED"],
      );
      const me = await env.request(ME_ID, {}, { token: next.accessToken });
      expect(me.status).toBe(401);
      const audit = await sqlOf<{ type: string }>(
        "select type from audit_events where user_id = ? and type = ?",
        [user.id, "REFRESH_TOKEN_REUSED"],
      );
      expect(audit).toHaveLength(1);
    });

    it("lets exactly one of twenty concurrent refreshes with one token succeed, and treats the rest as reuse", async () => {
      const user = await register(env, uniqueEmail("race"));
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          env.request(RefreshSessionDocument, { refreshToken: user.refreshToken }),
        ),
      );
      const winners = results.filter((r) => r.data?.refreshSession);
      expect(winners.length).toBe(1);
      expect(results.filter((r) => codesOf(r)[0] === "UNAUTHENTICATED").length).toBe(19);
      // The other nineteen presented a token already used: the session is over, the winner's pair included.
      const winner = winners[0]!.data!.refreshSession;
      expect((await env.request(ME_ID, {}, { token: winner.accessToken })).status).toBe(401);
      expect(
        codesOf(await env.request(RefreshSessionDocument, { refreshToken: winner.refreshToken })),
      ).toEqual(["UNAUTHENTICATED"]);
    });

    it("refuses garbage and unknown refresh tokens with UNAUTHENTICATED", async () => {
      for (const token of ["", "nope", "A".repeat(43), "x".repeat(5000)]) {
        expect(codesOf(await env.request(RefreshSessionDocument, { refreshToken: token }))).toEqual([
          "UNAUTHENTICATED",
        ]);
      }
    });
  });

  describe("sessions and instant revocation", () => {
    it("lists sessions with the current one marked, and revokes another one at once", async () => {
      const email = uniqueEmail("sessions");
      const phone = await register(env, email);
      const laptop = await login(env, email);
      const listed = await env.request(MySessionsDocument, {}, { token: laptop.token });
      expect(listed.data!.mySessions.map((s) => [s.id, s.current]).sort()).toEqual(
        [
          [phone.sessionId, false],
          [laptop.sessionId, true],
        ].sort(),
      );
      expect((await env.request(ME_ID, {}, { token: phone.token })).status).toBe(200);
      const revoked = await env.request(
        RevokeSessionDocument,
        { id: phone.sessionId },
        { token: laptop.token },
      );
      expect(revoked.data?.revokeSession).toBe(true);
      const after = await env.request(ME_ID, {}, { token: phone.token });
      expect(after.status).toBe(401);
      expect(codesOf(after)).toEqual(["UNAUTHENTICATED"]);
      expect(
        codesOf(await env.request(RefreshSessionDocument, { refreshToken: phone.refreshToken })),
      ).toEqual(["UNAUTHENTICATED"]);
      // Another user's session id reads as not found.
      const stranger = await register(env, uniqueEmail("stranger"));
      const foreign = await env.request(
        RevokeSessionDocument,
        { id: laptop.sessionId },
        { token: stranger.token },
      );
      expect(codesOf(foreign)).toEqual(["NOT_FOUND"]);
      expect((await env.request(ME_ID, {}, { token: laptop.token })).status).toBe(200);
    });

    it("logs out: the same access token is refused on the very next request", async () => {
      const user = await register(env, uniqueEmail("logout"));
      expect((await env.request(ME_ID, {}, { token: user.token })).data?.me?.id).toBe(user.id);
      expect((await env.request(LogoutDocument, {}, { token: user.token })).data?.logout).toBe(true);
      const next = await env.request(ME_ID, {}, { token: user.token });
      expect(next.status).toBe(401);
      expect(codesOf(next)).toEqual(["UNAUTHENTICATED"]);
    });

    it("logs out everywhere and says how many sessions ended", async () => {
      const email = uniqueEmail("everywhere");
      const sessions = [await register(env, email), await login(env, email), await login(env, email)];
      const ended = await env.request(LogoutEverywhereDocument, {}, { token: sessions[0]!.token });
      expect(ended.data?.logoutEverywhere).toBe(3);
      for (const session of sessions)
        expect((await env.request(ME_ID, {}, { token: session.token })).status).toBe(401);
    });

    it("changePassword keeps the current session and ends the others", async () => {
      const email = uniqueEmail("change");
      const here = await register(env, email);
      const there = await login(env, email);
      const wrong = await env.request(
        ChangePasswordDocument,
        { input: { currentPassword: "not my password!", newPassword: "a brand new passphrase" } },
        { token: here.token },
      );
      expect(codesOf(wrong)).toEqual(["BAD_USER_INPUT"]);
      expect(wrong.errors![0]!.extensions!.field).toBe("input.currentPassword");
      const changed = await env.request(
        ChangePasswordDocument,
        { input: { currentPassword: PASSWORD, newPassword: "a brand new passphrase" } },
        { token: here.token },
      );
      expect(changed.data?.changePassword).toBe(true);
      expect((await env.request(ME_ID, {}, { token: here.token })).status).toBe(200);
      expect((await env.request(ME_ID, {}, { token: there.token })).status).toBe(401);
      await expect(login(env, email, PASSWORD, from("198.51.100.3"))).rejects.toThrow(
        /Invalid e-mail or password/,
      );
      await expect(login(env, email, "a brand new passphrase")).resolves.toMatchObject({ email });
      // The security notice reaches the owner.
      await expect(tokenFromMail(env.mailbox, email, "/verify-email")).resolves.toEqual(expect.any(String));
      await expect(
        (async () => {
          for (let i = 0; i < 50; i++) {
            if (
              env.mailbox
                .messages()
                .some((m) => m.to.includes(email) && m.raw.includes("password was changed"))
            )
              return;
            await new Promise((r) => setTimeout(r, 100));
          }
          throw new Error("no security e-mail");
        })(),
      ).resolves.toBeUndefined();
    });

    it("keeps serving reads while the router cannot reach Redis, refuses mutations with a retryable 503, and recovers", async () => {
      const user = await register(env, uniqueEmail("outage"));
      redisProxy.cut();
      try {
        // A session the router has never seen (nothing cached): its signature is all it can check.
        const read = await env.request(ME_ID, {}, { token: user.token });
        expect(read.status).toBe(200);
        expect(read.data?.me?.id).toBe(user.id);
        const write = await env.request(
          UpdateProfileDocument,
          { input: { bio: "written during an outage" } },
          { token: user.token },
        );
        expect(write.status).toBe(503);
        expect(codesOf(write)).toEqual(["SERVICE_UNAVAILABLE"]);
        expect(write.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
        expect(write.data ?? null).toBeNull();
      } finally {
        redisProxy.restore();
      }
      await eventually(
        async () => {
          const write = await env.request(
            UpdateProfileDocument,
            { input: { bio: "after" } },
            { token: user.token },
          );
          expect(write.errors).toBeUndefined();
        },
        { timeoutMs: 10_000 },
      );
    });
  });

  describe("password reset and e-mail verification", () => {
    it("answers a reset request the same, in about the same time, whether or not the address exists", async () => {
      const email = uniqueEmail("reset-timing");
      await register(env, email);
      const timed = async (address: string) => {
        const started = performance.now();
        const response = await env.request(RequestPasswordResetDocument, { email: address });
        return { response, ms: performance.now() - started };
      };
      // Alternating rounds, compared by median, so one slow moment of a busy machine does not decide.
      const known: number[] = [];
      const unknown: number[] = [];
      for (let round = 0; round < 4; round++) {
        const a = await timed(email);
        const b = await timed(uniqueEmail("nobody"));
        expect(a.response).toEqual(b.response);
        expect(a.response.data?.requestPasswordReset).toBe(true);
        known.push(a.ms);
        unknown.push(b.ms);
      }
      const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
      // Both wait for the same 400 ms floor; the real work (a few milliseconds) is hidden inside it.
      expect(Math.min(...known, ...unknown)).toBeGreaterThanOrEqual(395);
      expect(Math.abs(median(known) - median(unknown))).toBeLessThan(100);
    });

    it("resets a password with a single-use e-mailed token, ends every session, and signs nobody in", async () => {
      const email = uniqueEmail("reset");
      const session = await register(env, email);
      await env.request(RequestPasswordResetDocument, { email });
      const older = await tokenFromMail(env.mailbox, email, "/reset-password");
      await env.request(RequestPasswordResetDocument, { email });
      const newer = await tokenFromMail(env.mailbox, email, "/reset-password", 1);
      const stale = await env.request(ResetPasswordDocument, {
        input: { token: older, newPassword: "reset passphrase one" },
      });
      expect(codesOf(stale)).toEqual(["BAD_USER_INPUT"]);
      expect(stale.errors![0]!.extensions!.field).toBe("input.token");

      const reset = await env.request(ResetPasswordDocument, {
        input: { token: newer, newPassword: "reset passphrase one" },
      });
      expect(reset.data).toEqual({ resetPassword: true });
      expect((await env.request(ME_ID, {}, { token: session.token })).status).toBe(401);
      const again = await env.request(ResetPasswordDocument, {
        input: { token: newer, newPassword: "reset passphrase two" },
      });
      expect(codesOf(again)).toEqual(["BAD_USER_INPUT"]);
      await expect(login(env, email, "reset passphrase one")).resolves.toMatchObject({ email });
    });

    it("sends at most five reset e-mails an hour to one address, answering every request the same", async () => {
      const email = uniqueEmail("flood");
      await register(env, email);
      for (let i = 0; i < 7; i++)
        expect((await env.request(RequestPasswordResetDocument, { email })).data).toEqual({
          requestPasswordReset: true,
        });
      await tokenFromMail(env.mailbox, email, "/reset-password", 4);
      // The sixth and seventh were answered, not sent.
      await expect(tokenFromMail(env.mailbox, email, "/reset-password", 5, 1000)).rejects.toThrow(
        /no \/reset-password e-mail #6/,
      );
    });

    it("refuses an expired reset token", async () => {
      const email = uniqueEmail("expired");
      await register(env, email);
      await env.request(RequestPasswordResetDocument, { email });
      const token = await tokenFromMail(env.mailbox, email, "/reset-password");
      await sqlOf(
        "update one_time_tokens set expires_at = now() - interval '1 second' where purpose = 'PASSWORD_RESET'",
      );
      const expired = await env.request(ResetPasswordDocument, {
        input: { token, newPassword: "too late passphrase" },
      });
      expect(codesOf(expired)).toEqual(["BAD_USER_INPUT"]);
    });

    it("verifies an e-mail address once with the token e-mailed at registration", async () => {
      const email = uniqueEmail("verify");
      const user = await register(env, email);
      const token = await tokenFromMail(env.mailbox, email, "/verify-email");
      expect((await env.request(VerifyEmailDocument, { token })).data).toEqual({ verifyEmail: true });
      expect((await env.request(ME_ID, {}, { token: user.token })).data?.me).toMatchObject({
        emailVerified: true,
      });
      expect(codesOf(await env.request(VerifyEmailDocument, { token }))).toEqual(["BAD_USER_INPUT"]);
    });
  });

  describe("brute force", () => {
    const wrongLogin = (email: string, ip: string) =>
      env.request(LoginDocument, { input: { email, password: "wrong wrong wrong" } }, { headers: from(ip) });

    it("blocks an account from one IP after repeated failures, the right password included, without locking the owner out elsewhere", async () => {
      const email = uniqueEmail("brute");
      await register(env, email);
      for (let i = 0; i < 3; i++)
        expect(codesOf(await wrongLogin(email, "203.0.113.10"))).toEqual(["UNAUTHENTICATED"]);
      const blocked = await env.request(
        LoginDocument,
        { input: { email, password: PASSWORD } },
        { headers: from("203.0.113.10") },
      );
      expect(codesOf(blocked)).toEqual(["UNAUTHENTICATED"]);
      expect(blocked.errors![0]!.message).toBe("Invalid e-mail or password");
      await expect(login(env, email, PASSWORD, from("203.0.113.11"))).resolves.toMatchObject({ email });
    });

    it("counts every aliased login in one document", async () => {
      const email = uniqueEmail("alias");
      const user = await register(env, email);
      const aliases = [1, 2, 3, 4, 5]
        .map(
          (n) => `a${n}: login(input: { email: "${email}", password: "wrong wrong wrong" }) { accessToken }`,
        )
        .join("\n");
      // Mutation fields run one after another, and a failed non-null one ends the document: every
      // alias that ran failed and was counted, and two documents use up the 3 allowed failures.
      let attempts = 0;
      for (let i = 0; i < 2; i++) {
        const response = await env.request(
          rawDocument(`mutation { ${aliases} }`),
          {},
          { headers: from("203.0.113.20") },
        );
        expect(codesOf(response).length).toBeGreaterThan(0);
        expect(new Set(codesOf(response))).toEqual(new Set(["UNAUTHENTICATED"]));
        attempts += codesOf(response).length;
      }
      const recorded = await sqlOf<{ count: string }>(
        "select count(*) from audit_events where user_id = ? and type in ('LOGIN_FAILED', 'LOGIN_BLOCKED')",
        [user.id],
      );
      expect(Number(recorded[0]!.count)).toBe(attempts);
      const third = await env.request(
        rawDocument(`mutation { ${aliases} }`),
        {},
        { headers: from("203.0.113.20") },
      );
      expect(codesOf(third)[0]).toBe("UNAUTHENTICATED");
      const blocked = await env.request(
        LoginDocument,
        { input: { email, password: PASSWORD } },
        { headers: from("203.0.113.20") },
      );
      expect(codesOf(blocked)).toEqual(["UNAUTHENTICATED"]);
    });

    it("admits only the allowed number of twenty concurrent guesses", async () => {
      const email = uniqueEmail("parallel");
      const user = await register(env, email);
      const guesses = await Promise.all(Array.from({ length: 20 }, () => wrongLogin(email, "203.0.113.40")));
      expect(guesses.every((guess) => codesOf(guess)[0] === "UNAUTHENTICATED")).toBe(true);
      // Each guess is counted before its password is checked: only 3 ever reach bcrypt.
      const checked = await sqlOf<{ type: string; count: string }>(
        "select type, count(*) from audit_events where user_id is not distinct from ? and type in ('LOGIN_FAILED') group by type",
        [user.id],
      );
      expect(checked.map((row) => Number(row.count))).toEqual([3]);
    });

    it("limits failures per IP across accounts", async () => {
      const victim = uniqueEmail("victim");
      await register(env, victim);
      for (let i = 0; i < 8; i++) await wrongLogin(uniqueEmail("spray"), "203.0.113.30");
      const blocked = await env.request(
        LoginDocument,
        { input: { email: victim, password: PASSWORD } },
        { headers: from("203.0.113.30") },
      );
      expect(codesOf(blocked)).toEqual(["UNAUTHENTICATED"]);
      await expect(login(env, victim, PASSWORD, from("203.0.113.31"))).resolves.toMatchObject({
        email: victim,
      });
    });
  });
});

/* eslint-disable max-lines -- every case runs against one started supergraph behind fault
   proxies, and the last one scans the log lines of all the others: split, each part would start its
   own supergraph and that scan would miss the other part's lines. */
import { randomBytes } from "node:crypto";

import pg from "pg";

import {
  ChangePasswordDocument,
  CreateApiKeyDocument,
  LoginDocument,
  MeDocument,
  RefreshSessionDocument,
  RegisterDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  VerifyEmailDocument,
} from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf, type GraphQLResponse } from "../support/graphql-client";
import { tokenFromMail } from "../support/identity";
import { logCapture } from "../support/log-capture";
import { databaseUrl, describeWithServices, REAL_SERVICES } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

// Every log line of every service, at every level, while the secret-carrying auth flows run and
// while PostgreSQL, Redis and RabbitMQ fail under them: no line may hold an e-mail address, a
// password, a token or an API key secret. The faults are real (a statement killed while it waits,
// a connection cut mid-query, Redis and the broker taken away) and each must have been logged, so
// the scan cannot pass on a run that logged nothing.

interface LogLine {
  level: number;
  service: string;
  msg: string;
  err?: { type?: string; message?: string };
  [key: string]: unknown;
}

const WARN = 40;
const INTERNAL_OR_UNAVAILABLE = ["INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"];

const secretPassword = () => `pw ${randomBytes(12).toString("base64url")} never logged`;

describeWithServices(["postgres", "redis", "rabbitmq"], "no secret in any log line", () => {
  const logs = logCapture<LogLine>();
  const secrets = new Set<string>();
  const remember = (...values: (string | null | undefined)[]) => {
    for (const value of values) {
      if (!value) continue;
      // The value itself and its obvious spellings: lowercased (e-mails are normalised) and URL-encoded.
      for (const form of [value, value.toLowerCase(), encodeURIComponent(value)]) secrets.add(form);
    }
  };
  const email = (label: string) =>
    `Secret.${label}.${process.pid}.${randomBytes(3).toString("hex")}@Example.org`;

  let env: TestSupergraph;
  let database: TcpProxy;
  let redis: TcpProxy;
  let broker: TcpProxy;
  /** A connection of the test's own, straight to auth's database (not through the proxy). */
  let authDb: pg.Client;

  beforeAll(async () => {
    const target = (url: string, port: number) => ({
      host: new URL(url).hostname,
      port: Number(new URL(url).port || port),
    });
    database = await startTcpProxy(target(REAL_SERVICES.postgres.url, 5432));
    redis = await startTcpProxy(target(REAL_SERVICES.redis.url, 6379));
    broker = await startTcpProxy(target(REAL_SERVICES.rabbitmq.url, 5672));
    const amqp = new URL(REAL_SERVICES.rabbitmq.url);
    amqp.hostname = "127.0.0.1";
    amqp.port = String(broker.port);
    env = await startTestSupergraph("services", {
      logDestination: logs.stream,
      logLevel: "trace",
      databasePorts: { auth: database.port },
      // The subgraphs' store goes through the proxy; the router keeps its own line so requests
      // still reach auth while the subgraphs' Redis is away.
      redisUrl: `redis://127.0.0.1:${redis.port}`,
      routerRedisUrl: REAL_SERVICES.redis.url,
      amqpUrl: amqp.toString(),
      outbox: { maxBackoffMs: 500 },
      auth: { bcryptCost: 4 },
    });
    const [row] = await subgraphSql<{ name: string }>(env, "auth", "select current_database() as name");
    authDb = new pg.Client({ connectionString: databaseUrl(row!.name) });
    await authDb.connect();
  }, 60_000);

  afterAll(async () => {
    await authDb?.end();
    await env?.stop();
    await Promise.all([database, redis, broker].map((proxy) => proxy?.close()));
  });

  /**
   * Runs `request` while the test holds `lock` on `table`, waits until auth's statement is queued
   * behind the lock, reads the statement (MikroORM inlines its values: the secrets it carried are
   * remembered by the caller) and applies `fault` to it: the backend killed, as a failover would,
   * or auth's connections cut by the proxy mid-query. Returns the client's answer.
   */
  async function faultWhileWaiting<T>(
    table: string,
    mode: "SHARE" | "ACCESS EXCLUSIVE",
    fault: "kill" | "cut",
    request: () => Promise<GraphQLResponse<T>>,
  ): Promise<{ response: GraphQLResponse<T>; statement: string }> {
    await authDb.query("begin");
    try {
      await authDb.query(`lock table ${table} in ${mode} mode`);
      const answer = request();
      const waiting = await eventually(
        async () => {
          // Inside a transaction the statistics views are a snapshot taken once: take a fresh one.
          await authDb.query("select pg_stat_clear_snapshot()");
          const { rows } = await authDb.query<{ pid: number; query: string }>(
            `select pid, query from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid()
               and wait_event_type = 'Lock' and query ilike $1`,
            [`%"${table}"%`],
          );
          expect(rows).toHaveLength(1);
          return rows[0]!;
        },
        { timeoutMs: 15_000 },
      );
      if (fault === "kill") await authDb.query("select pg_terminate_backend($1)", [waiting.pid]);
      else database.cut();
      return { response: await answer, statement: waiting.query };
    } finally {
      await authDb.query("rollback");
      database.restore();
    }
  }

  /** The e-mail addresses and one-time tokens a statement carried (an outbox payload holds both). */
  const secretsIn = (statement: string) => [
    ...[...statement.matchAll(/"token":\s*"([A-Za-z0-9_-]{43})"/g)].map((m) => m[1]!),
    ...[...statement.matchAll(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g)].map((m) => m[0]),
  ];

  /** The fault reached the client as one error saying it was ours, nothing done. */
  const expectRefused = (response: GraphQLResponse<unknown>) => {
    expect(codesOf(response)).toHaveLength(1);
    expect(INTERNAL_OR_UNAVAILABLE).toContain(codesOf(response)[0]);
  };

  /** Lines at warn or above since `from`, from `service`. */
  const problems = (from: number, service: string) =>
    logs.since(from).filter((line) => line.level >= WARN && line.service === service);

  // One account through every flow that carries a secret, faults in between.
  const alice = { email: email("alice"), password: secretPassword(), token: "", refreshToken: "" };

  it("logs no secret on the flows that carry them when nothing fails", async () => {
    remember(alice.email, alice.password);
    const registered = await env.request(RegisterDocument, {
      input: { email: alice.email, password: alice.password, displayName: "Alice" },
    });
    expect(registered.errors).toBeUndefined();
    remember(registered.data!.register.accessToken, registered.data!.register.refreshToken);

    const verification = await tokenFromMail(env.mailbox, alice.email.toLowerCase(), "/verify-email");
    remember(verification);
    expect((await env.request(VerifyEmailDocument, { token: verification })).data?.verifyEmail).toBe(true);

    const loggedIn = await env.request(LoginDocument, {
      input: { email: alice.email, password: alice.password },
    });
    expect(loggedIn.errors).toBeUndefined();
    remember(loggedIn.data!.login.accessToken, loggedIn.data!.login.refreshToken);

    const refreshed = await env.request(RefreshSessionDocument, {
      refreshToken: loggedIn.data!.login.refreshToken,
    });
    expect(refreshed.errors).toBeUndefined();
    alice.token = refreshed.data!.refreshSession.accessToken;
    alice.refreshToken = refreshed.data!.refreshSession.refreshToken;
    remember(alice.token, alice.refreshToken);

    const key = await env.request(
      CreateApiKeyDocument,
      { input: { name: "logs", scopes: ["analytics:read"] } },
      { token: alice.token },
    );
    expect(key.errors).toBeUndefined();
    remember(key.data!.createApiKey.secret);
    const viaKey = await env.request(
      MeDocument,
      {},
      { headers: { "x-api-key": key.data!.createApiKey.secret } },
    );
    expect(viaKey.status).toBe(200);

    const newPassword = secretPassword();
    remember(newPassword);
    const changed = await env.request(
      ChangePasswordDocument,
      { input: { currentPassword: alice.password, newPassword } },
      { token: alice.token },
    );
    expect(changed.data?.changePassword).toBe(true);

    expect(
      (await env.request(RequestPasswordResetDocument, { email: alice.email })).data?.requestPasswordReset,
    ).toBe(true);
    const reset = await tokenFromMail(env.mailbox, alice.email.toLowerCase(), "/reset-password");
    remember(reset);
    alice.password = secretPassword();
    remember(alice.password);
    const resetDone = await env.request(ResetPasswordDocument, {
      input: { token: reset, newPassword: alice.password },
    });
    expect(resetDone.data?.resetPassword).toBe(true);

    const again = await env.request(LoginDocument, {
      input: { email: alice.email, password: alice.password },
    });
    expect(again.errors).toBeUndefined();
    alice.token = again.data!.login.accessToken;
    alice.refreshToken = again.data!.login.refreshToken;
    remember(alice.token, alice.refreshToken);
  }, 60_000);

  it("logs the database errors of register, login, password changes and resets without their values", async () => {
    const from = logs.raw.length;
    const bob = { email: email("bob"), password: secretPassword() };
    remember(bob.email, bob.password);

    // register: the outbox insert carries the address and the verification token.
    const registering = await faultWhileWaiting("outbox_events", "SHARE", "kill", () =>
      env.request(RegisterDocument, {
        input: { email: bob.email, password: bob.password, displayName: "Bob" },
      }),
    );
    expectRefused(registering.response);
    const carried = secretsIn(registering.statement);
    expect(carried.length).toBeGreaterThanOrEqual(2); // the test would prove nothing otherwise
    remember(...carried);

    // login: the account is looked up by its address.
    const loggingIn = await faultWhileWaiting("users", "ACCESS EXCLUSIVE", "kill", () =>
      env.request(LoginDocument, { input: { email: alice.email, password: alice.password } }),
    );
    expectRefused(loggingIn.response);
    expect(loggingIn.statement.toLowerCase()).toContain(alice.email.toLowerCase());

    // requestPasswordReset: the outbox insert carries the address and the reset token.
    const requesting = await faultWhileWaiting("outbox_events", "SHARE", "kill", () =>
      env.request(RequestPasswordResetDocument, { email: alice.email }),
    );
    expectRefused(requesting.response);
    remember(...secretsIn(requesting.statement));

    // changePassword: the outbox insert carries the address.
    const newPassword = secretPassword();
    remember(newPassword);
    const changing = await faultWhileWaiting("outbox_events", "SHARE", "kill", () =>
      env.request(
        ChangePasswordDocument,
        { input: { currentPassword: alice.password, newPassword } },
        { token: alice.token },
      ),
    );
    expectRefused(changing.response);

    // The same lookup with the connection cut mid-query instead (a network fault, not the server).
    const cutLogin = await faultWhileWaiting("users", "ACCESS EXCLUSIVE", "cut", () =>
      env.request(LoginDocument, { input: { email: alice.email, password: alice.password } }),
    );
    expectRefused(cutLogin.response);

    const logged = problems(from, "auth");
    expect(logged.length).toBeGreaterThanOrEqual(5);
    // What an operator needs is still there: the statement's shape and PostgreSQL's reason.
    const messages = logged.map((line) => line.err?.message ?? "").join("\n");
    expect(messages).toMatch(/insert into "outbox_events"/);
    expect(messages).toMatch(/from "users"/);
    expect(messages).toMatch(/terminating connection due to administrator command/);
  }, 90_000);

  it("logs Redis errors during login, register and refresh without a secret", async () => {
    const from = logs.raw.length;
    const carol = { email: email("carol"), password: secretPassword() };
    remember(carol.email, carol.password);
    redis.cut();
    const answers = [
      await env.request(LoginDocument, { input: { email: alice.email, password: alice.password } }),
      await env.request(RegisterDocument, {
        input: { email: carol.email, password: carol.password, displayName: "Carol" },
      }),
      await env.request(RefreshSessionDocument, { refreshToken: alice.refreshToken }),
    ];
    for (const answer of answers) expectRefused(answer);
    redis.restore();
    expect(logs.since(from).some((line) => line.level >= WARN && /^Redis/.test(line.msg))).toBe(true);
    // The store reconnects: flows work again.
    await eventually(
      async () => {
        const back = await env.request(LoginDocument, {
          input: { email: alice.email, password: alice.password },
        });
        expect(back.errors).toBeUndefined();
        alice.token = back.data!.login.accessToken;
        alice.refreshToken = back.data!.login.refreshToken;
        remember(alice.token, alice.refreshToken);
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
  }, 60_000);

  it("logs broker errors while a registration's events wait in the outbox, without a secret", async () => {
    const from = logs.raw.length;
    const dave = { email: email("dave"), password: secretPassword() };
    remember(dave.email, dave.password);
    broker.cut();
    await eventually(async () => expect(env.supergraph.bus.isHealthy()).toBe(false));
    const registered = await env.request(RegisterDocument, {
      input: { email: dave.email, password: dave.password, displayName: "Dave" },
    });
    expect(registered.errors).toBeUndefined();
    remember(registered.data!.register.accessToken, registered.data!.register.refreshToken);
    await eventually(
      () => expect(problems(from, "auth").some((line) => /outbox/.test(line.msg))).toBe(true),
      {
        timeoutMs: 15_000,
      },
    );
    broker.restore();
    // Once the broker is back the verification e-mail leaves: its token was in the outbox all along.
    remember(await tokenFromMail(env.mailbox, dave.email.toLowerCase(), "/verify-email", 0, 30_000));
  }, 60_000);

  it("no captured line holds any of the secrets", () => {
    expect(logs.raw.length).toBeGreaterThan(50);
    expect(secrets.size).toBeGreaterThan(20);
    const leaks = logs.raw.flatMap((line) =>
      [...secrets]
        .filter((secret) => line.includes(secret))
        .map((secret) => ({ secret, line: line.slice(0, 600) })),
    );
    expect(leaks).toEqual([]);
  });
});

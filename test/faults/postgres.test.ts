import pg from "pg";

import { LoginDocument, RegisterDocument, UpdateProfileDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf, type GraphQLResponse } from "../support/graphql-client";
import { PASSWORD, register, uniqueEmail } from "../support/identity";
import { describeWithServices, REAL_SERVICES } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

// A subgraph's PostgreSQL cut, too slow (statements past the statement timeout) and with its pool
// exhausted: a fast SERVICE_UNAVAILABLE with a retry hint, nothing half-done, never
// INTERNAL_SERVER_ERROR, then back to normal on its own (decision 006).

const expectUnavailable = (response: GraphQLResponse<unknown>) => {
  expect(codesOf(response)).toEqual(["SERVICE_UNAVAILABLE"]);
  expect(response.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
};

describeWithServices(["postgres", "redis", "rabbitmq"], "faults: PostgreSQL under a subgraph", () => {
  let env: TestSupergraph;
  let authDb: TcpProxy;

  beforeAll(async () => {
    const server = new URL(REAL_SERVICES.postgres.url);
    authDb = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    env = await startTestSupergraph("services", {
      databasePorts: { auth: authDb.port },
      auth: { bcryptCost: 4 },
      logLevel: process.env.DEBUG_LOG || "silent",
    });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    await authDb?.close();
  });

  afterEach(() => authDb.restore());

  it("answers register and login with SERVICE_UNAVAILABLE while auth's database is cut, leaves no session, and recovers", async () => {
    const user = await register(env, uniqueEmail("pg-cut"));
    const email = uniqueEmail("pg-cut-new");
    authDb.cut();
    const started = Date.now();
    const registered = await env.request(RegisterDocument, {
      input: { email, password: PASSWORD, displayName: "Cut" },
    });
    const loggedIn = await env.request(LoginDocument, { input: { email: user.email, password: PASSWORD } });
    // Fast: the connect timeout, not the router's subgraph timeout.
    expect(Date.now() - started).toBeLessThan(8_000);
    expectUnavailable(registered);
    expectUnavailable(loggedIn);
    authDb.restore();

    await eventually(async () => {
      const again = await env.request(LoginDocument, { input: { email: user.email, password: PASSWORD } });
      expect(again.errors).toBeUndefined();
    });
    expect(await subgraphSql(env, "auth", "select 1 from users where email = ?", [email])).toHaveLength(0);
    // Two sign-ins in all (register and the login after the cut): the refused login left no session.
    const sessions = await env.supergraph.store.setMembers(`auth:user-sessions:${user.id}`);
    expect(sessions).toHaveLength(2);
  });

  it("cancels statements past the statement timeout, sheds what cannot get a connection, and serves normally once the database is fast again", async () => {
    const user = await register(env, uniqueEmail("pg-slow"));
    // Its profile comes from the registration event: there before the table is locked.
    await eventually(async () =>
      expect(
        await subgraphSql(env, "user", "select 1 from profiles where user_id = ?", [user.id]),
      ).toHaveLength(1),
    );
    // A long lock on the profiles table: every statement that touches it waits, as on a sick server.
    const [database] = await subgraphSql<{ db: string }>(env, "user", "select current_database() as db");
    const url = new URL(REAL_SERVICES.postgres.url);
    url.pathname = `/${database!.db}`;
    const locker = new pg.Client({ connectionString: url.toString() });
    await locker.connect();
    try {
      await locker.query("begin");
      await locker.query("lock table profiles in access exclusive mode");
      const started = Date.now();
      // More writes than the pool has connections (10): the first wait for the lock until the
      // statement timeout, the rest cannot get a connection and are shed.
      const answers = await Promise.all(
        Array.from({ length: 14 }, (_, i) =>
          env.request(UpdateProfileDocument, { input: { bio: `slow ${i}` } }, { token: user.token }),
        ),
      );
      const elapsed = Date.now() - started;
      for (const answer of answers) expectUnavailable(answer);
      // Within the statement timeout (5 s) and a margin, well before the router's 10 s timeout.
      expect(elapsed).toBeLessThan(9_000);
    } finally {
      await locker.query("rollback").catch(() => undefined);
      await locker.end();
    }
    const after = await env.request(
      UpdateProfileDocument,
      { input: { bio: "fast again" } },
      { token: user.token },
    );
    expect(after.errors).toBeUndefined();
    const [profile] = await subgraphSql<{ bio: string }>(
      env,
      "user",
      "select bio from profiles where user_id = ?",
      [user.id],
    );
    expect(profile!.bio).toBe("fast again");
  });
});

import { LoginDocument, RefreshSessionDocument } from "../../schema/generated/graphql";
import { codesOf } from "../support/graphql-client";
import { PASSWORD, register, type SignedIn, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";

// More logins than the cores can hash within the router's patience: admission control sheds what
// cannot start in time (SERVICE_UNAVAILABLE at once, not a timeout), nothing completes for a client
// who was told it failed, and the auth circuit stays closed for everyone else (decision 006).

const ROUTER_TIMEOUT_MS = 1_500;
const ACCOUNTS = 10;
const LOGINS = 80;

describeWithServices(["postgres", "redis", "rabbitmq"], "faults: a login burst beyond capacity", () => {
  let env: TestSupergraph;
  let users: SignedIn[];

  beforeAll(async () => {
    env = await startTestSupergraph("services", {
      // About 75 ms a hash here: 80 logins are about 3 s of two cores, twice the router's patience.
      auth: { bcryptCost: 10 },
      subgraphResilience: { timeoutMs: ROUTER_TIMEOUT_MS },
      logLevel: process.env.DEBUG_LOG || "silent",
    });
    users = [];
    for (let i = 0; i < ACCOUNTS; i++) users.push(await register(env, uniqueEmail(`burst-${i}`)));
  }, 120_000);

  afterAll(() => env?.stop());

  const audited = async () => {
    const [row] = await subgraphSql<{ count: string }>(
      env,
      "auth",
      "select count(*) from audit_events where type = 'LOGIN_SUCCEEDED'",
    );
    return Number(row!.count);
  };

  it("sheds what it cannot serve in time, completes nothing nobody received, and keeps the circuit closed", async () => {
    const before = await audited();
    const answers = await Promise.all(
      Array.from({ length: LOGINS }, (_, i) => {
        const user = users[i % ACCOUNTS]!;
        return env.request(LoginDocument, { input: { email: user.email, password: PASSWORD } });
      }),
    );
    const codes = answers.flatMap(codesOf);
    const succeeded = answers.filter((answer) => answer.data?.login?.accessToken).length;
    expect(codes.filter((code) => code !== "SERVICE_UNAVAILABLE")).toEqual([]);
    expect(codes.length).toBeGreaterThan(0); // the burst really was beyond capacity
    expect(succeeded).toBeGreaterThan(0);
    for (const answer of answers.filter((a) => a.errors))
      expect(answer.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);

    // An unrelated caller of the same subgraph is served at once: no circuit opened.
    const refreshed = await env.request(RefreshSessionDocument, { refreshToken: users[0]!.refreshToken });
    expect(refreshed.errors).toBeUndefined();

    // Once in-flight work has drained: one LOGIN_SUCCEEDED per success a client saw, no ghosts.
    await new Promise((resolve) => setTimeout(resolve, ROUTER_TIMEOUT_MS));
    expect((await audited()) - before).toBe(succeeded);
    const sessions = await Promise.all(
      users.map((user) => env.supergraph.store.setMembers(`auth:user-sessions:${user.id}`)),
    );
    // Each account: its registration's session (refreshed for users[0]) plus its successful logins.
    expect(sessions.flat().length).toBe(ACCOUNTS + succeeded);
  });
});

import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { PROJECT_ROOT } from "../../platform/paths";
import {
  LoginDocument,
  MeDocument,
  RefreshSessionDocument,
  RegisterDocument,
  TrackEventDocument,
} from "../../schema/generated/graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { getOperationAST } from "graphql";
import type { GraphQLResponse } from "../../test/support/graphql-client";
import { REAL_SERVICES } from "../../test/support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../../test/support/supergraph-fixture";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy";

// `npm run bench:chaos`: the benchmark's mixed traffic (sign-ups, logins, refreshes, reads,
// tracking) for CHAOS_SECONDS (default 600) while a chaos loop cuts, stalls and slows Redis, each
// subgraph's PostgreSQL and RabbitMQ at random, through TCP proxies on loopback. Clients behave as
// ORION asks them to: every mutation carries an Idempotency-Key and is retried with it after
// SERVICE_UNAVAILABLE. Then it checks every answer against the databases: what a client was told
// succeeded is there once, what it was told failed left nothing, every event had its effects once.
// Writes bench/results/chaos.json and prints the README table. Not in CI (it runs for minutes).

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 600);
const CLIENTS = Number(process.env.CHAOS_CLIENTS ?? 8);
const PASSWORD = "chaos soak: a long passphrase";
const MAX_ATTEMPTS = 6;

type Target = "redis" | "rabbitmq" | `postgres:${SubgraphName}`;
type Mode = "cut" | "stall" | "slow";

interface Fault {
  target: Target;
  mode: Mode;
  heldMs: number;
  recoveryMs: number | null;
}

interface User {
  id: string;
  email: string;
  token: string;
  refreshToken: string;
}

const ledger = {
  outcomes: new Map<string, number>(),
  registered: [] as User[],
  registrationsFailed: [] as string[],
  loginsSeen: 0,
  tracked: [] as string[],
  trackFailed: [] as string[],
};

const unexpected = new Map<string, number>();
const count = (code: string, operation = "Me", message?: string) => {
  ledger.outcomes.set(code, (ledger.outcomes.get(code) ?? 0) + 1);
  // Answers no client should get under faults: where they come from, for the report.
  if (code === "INTERNAL_SERVER_ERROR" || code === "UNAUTHENTICATED") {
    const what = `${operation} ${code}: ${message ?? ""}`;
    unexpected.set(what, (unexpected.get(what) ?? 0) + 1);
  }
};
const codeOf = (answer: GraphQLResponse<unknown> | null) =>
  answer === null ? "NETWORK_ERROR" : String(answer.errors?.[0]?.extensions?.code ?? "OK");
const operationName = (document: TypedDocumentNode<unknown, never>) =>
  getOperationAST(document)?.name?.value ?? "anonymous";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

async function main(): Promise<void> {
  const redis = new URL(REAL_SERVICES.redis.url);
  const postgres = new URL(REAL_SERVICES.postgres.url);
  const amqp = new URL(REAL_SERVICES.rabbitmq.url);
  const proxies = new Map<Target, TcpProxy>();
  proxies.set("redis", await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) }));
  proxies.set("rabbitmq", await startTcpProxy({ host: amqp.hostname, port: Number(amqp.port || 5672) }));
  for (const name of SUBGRAPH_NAMES)
    proxies.set(
      `postgres:${name}`,
      await startTcpProxy({ host: postgres.hostname, port: Number(postgres.port || 5432) }),
    );
  const amqpUrl = new URL(REAL_SERVICES.rabbitmq.url);
  amqpUrl.hostname = "127.0.0.1";
  amqpUrl.port = String(proxies.get("rabbitmq")!.port);
  const env = await startTestSupergraph("services", {
    redisUrl: `redis://127.0.0.1:${proxies.get("redis")!.port}`,
    amqpUrl: amqpUrl.toString(),
    databasePorts: Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => [name, proxies.get(`postgres:${name}`)!.port]),
    ) as Record<SubgraphName, number>,
    auth: { bcryptCost: 8 },
    outbox: { maxBackoffMs: 1_000 },
    mailDispatch: { sweepIntervalMs: 1_000, orphanAfterMs: 10_000 },
    logLevel: process.env.LOG_LEVEL ?? "silent",
  });
  console.log(`chaos soak: ${SECONDS} s, ${CLIENTS} clients, router ${env.supergraph.routerUrl}`);
  const until = Date.now() + SECONDS * 1000;
  const faults: Fault[] = [];
  try {
    const probe = await registerUser(env);
    if (!probe) throw new Error("could not register the probe user before the chaos");
    await Promise.all([
      ...Array.from({ length: CLIENTS }, () => client(env, until)),
      chaos(env, proxies, until, probe, faults),
    ]);
    for (const proxy of proxies.values()) proxy.restore();
    console.log("traffic over; waiting for the event pipeline to drain");
    const report = await verify(env, faults);
    const dir = path.join(PROJECT_ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "chaos.json"), `${JSON.stringify(report, null, 2)}\n`);
    printTable(report);
    if (report.lost + report.duplicated + report.successesNotDurable + report.failuresLeftBehind > 0)
      process.exitCode = 1;
  } finally {
    await env.stop();
    for (const proxy of proxies.values()) await proxy.close();
  }
}

/** A mutation as a well-behaved client sends it: one key, retried on SERVICE_UNAVAILABLE and in-progress CONFLICT. */
async function mutate<T, V>(
  env: TestSupergraph,
  document: TypedDocumentNode<T, V>,
  variables: V,
  token?: string,
): Promise<GraphQLResponse<T> | null> {
  const key = randomUUID();
  let answer: GraphQLResponse<T> | null = null;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    answer = await env
      .request(document, variables, { token, headers: { "idempotency-key": key } })
      .catch(() => null);
    const code = codeOf(answer);
    count(code, operationName(document), answer?.errors?.[0]?.message);
    const retryable =
      code === "NETWORK_ERROR" ||
      code === "SERVICE_UNAVAILABLE" ||
      (code === "CONFLICT" && answer?.errors?.[0]?.extensions?.retryAfter !== undefined);
    if (!retryable) return answer;
    const hint = Number(answer?.errors?.[0]?.extensions?.retryAfter ?? 1);
    await sleep(Math.min(2_000, hint * 1000) * (0.5 + Math.random()));
  }
  return answer;
}

async function registerUser(env: TestSupergraph): Promise<User | null> {
  const email = `chaos-${randomUUID()}@example.com`;
  const answer = await mutate(env, RegisterDocument, {
    input: { email, password: PASSWORD, displayName: "Chaos" },
  });
  const payload = answer?.data?.register;
  if (!payload) {
    ledger.registrationsFailed.push(email);
    return null;
  }
  const user = { id: payload.user.id, email, token: payload.accessToken, refreshToken: payload.refreshToken };
  ledger.registered.push(user);
  return user;
}

/** One operation of the mix as `user`; returns the user with any new tokens. */
async function act(env: TestSupergraph, user: User, roll: number): Promise<User> {
  if (roll < 0.35) {
    const answer = await mutate(env, LoginDocument, { input: { email: user.email, password: PASSWORD } });
    const payload = answer?.data?.login;
    if (!payload) return user;
    ledger.loginsSeen++;
    return { ...user, token: payload.accessToken, refreshToken: payload.refreshToken };
  }
  if (roll < 0.5) {
    const answer = await mutate(env, RefreshSessionDocument, { refreshToken: user.refreshToken });
    const payload = answer?.data?.refreshSession;
    return payload ? { ...user, token: payload.accessToken, refreshToken: payload.refreshToken } : user;
  }
  if (roll < 0.8) {
    const answer = await env.request(MeDocument, {}, { token: user.token }).catch(() => null);
    count(codeOf(answer), "Me", answer?.errors?.[0]?.message);
    return user;
  }
  const probe = randomUUID();
  const answer = await mutate(
    env,
    TrackEventDocument,
    { input: { name: "chaos.probe", properties: { probe } } },
    user.token,
  );
  (answer?.data?.trackEvent ? ledger.tracked : ledger.trackFailed).push(probe);
  return user;
}

async function client(env: TestSupergraph, until: number): Promise<void> {
  let me: User | null = null;
  while (Date.now() < until) {
    const roll = Math.random();
    if (!me || roll < 0.15) {
      me = (await registerUser(env)) ?? me;
    } else {
      me = await act(env, me, roll);
    }
    await sleep(20 + Math.random() * 60);
  }
}

async function chaos(
  env: TestSupergraph,
  proxies: Map<Target, TcpProxy>,
  until: number,
  probe: User,
  faults: Fault[],
): Promise<void> {
  const targets = [...proxies.keys()];
  while (Date.now() < until - 15_000) {
    await sleep(3_000 + Math.random() * 5_000);
    const target = pick(targets);
    const mode: Mode = pick(
      target === "rabbitmq" ? (["cut", "stall"] as const) : (["cut", "stall", "slow"] as const),
    );
    const proxy = proxies.get(target)!;
    const heldMs = Math.round(2_000 + Math.random() * 6_000);
    if (mode === "cut") proxy.cut();
    else if (mode === "stall") proxy.stall();
    else proxy.slow(2_000);
    await sleep(heldMs);
    proxy.restore();
    const restored = Date.now();
    const recovered = await recovery(env, target, probe);
    faults.push({ target, mode, heldMs, recoveryMs: recovered ? Date.now() - restored : null });
    console.log(`${target} ${mode} ${heldMs} ms: recovered in ${recovered ? Date.now() - restored : "∞"} ms`);
  }
}

/** Until an operation that needs `target` works again (at most 60 s). */
async function recovery(env: TestSupergraph, target: Target, probe: User): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await probeWorks(env, target, probe).catch(() => false)) return true;
    await sleep(100);
  }
  return false;
}

async function probeWorks(env: TestSupergraph, target: Target, probe: User): Promise<boolean> {
  if (target === "redis" || target === "postgres:auth") {
    const answer = await env.request(LoginDocument, { input: { email: probe.email, password: PASSWORD } });
    if (answer.data?.login) {
      ledger.loginsSeen++;
      probe.token = answer.data.login.accessToken;
    }
    return !!answer.data?.login;
  }
  if (target === "rabbitmq") {
    // An event makes its way again: a new registration's profile appears in the user subgraph.
    const user = await registerUser(env);
    if (!user) return false;
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const rows = await subgraphSql(env, "user", "select 1 from profiles where user_id = ?", [
        user.id,
      ]).catch(() => []);
      if (rows.length > 0) return true;
      await sleep(100);
    }
    return false;
  }
  const answer = await env.request(MeDocument, {}, { token: probe.token });
  return answer.errors === undefined && !!answer.data?.me;
}

async function verify(env: TestSupergraph, faults: Fault[]) {
  const ids = ledger.registered.map((user) => user.id);
  const exactlyOnce = async (subgraph: SubgraphName, sql: string) => {
    const rows = ids.length
      ? await subgraphSql<{ user_id: string; n: string }>(env, subgraph, sql, [ids])
      : [];
    const counts = new Map(rows.map((row) => [row.user_id, Number(row.n)]));
    return {
      lost: ids.filter((id) => !counts.has(id)).length,
      duplicated: [...counts.values()].filter((n) => n > 1).length,
    };
  };
  const effects = async () => ({
    profile: await exactlyOnce(
      "user",
      "select user_id, count(*) as n from profiles where user_id in (?) group by user_id",
    ),
    welcome: await exactlyOnce(
      "notification",
      `select user_id, max(n) as n from (select user_id, channel, count(*) as n from notifications
       where kind = 'welcome' and user_id in (?) group by user_id, channel) per_channel group by user_id`,
    ),
    tracked: await exactlyOnce(
      "analytics",
      "select user_id, count(*) as n from events where name = 'user.registered' and user_id in (?) group by user_id",
    ),
  });
  let settled = await effects();
  for (let waited = 0; waited < 180_000 && Object.values(settled).some((e) => e.lost > 0); waited += 2_000) {
    await sleep(2_000);
    settled = await effects();
  }

  const accounts = new Set(
    (await subgraphSql<{ email: string }>(env, "auth", "select email from users", [])).map(
      (row) => row.email,
    ),
  );
  const probes = new Map(
    (
      await subgraphSql<{ probe: string; n: string }>(
        env,
        "analytics",
        "select properties->>'probe' as probe, count(*) as n from events where name = 'chaos.probe' group by 1",
        [],
      )
    ).map((row) => [row.probe, Number(row.n)]),
  );
  const [logins] = await subgraphSql<{ n: string }>(
    env,
    "auth",
    "select count(*) as n from audit_events where type = 'LOGIN_SUCCEEDED'",
    [],
  );
  const published = await sumOver(
    env,
    "select count(*) as n from outbox_events where published_at is not null",
  );
  const consumed = await sumOver(env, "select count(*) as n from inbox_events");

  const successesNotDurable =
    ledger.registered.filter((user) => !accounts.has(user.email)).length +
    ledger.tracked.filter((probe) => probes.get(probe) !== 1).length +
    Math.max(0, ledger.loginsSeen - Number(logins!.n));
  const failuresLeftBehind =
    ledger.registrationsFailed.filter((email) => accounts.has(email)).length +
    ledger.trackFailed.filter((probe) => probes.has(probe)).length +
    Math.max(0, Number(logins!.n) - ledger.loginsSeen);
  const lost = Object.values(settled).reduce((sum, e) => sum + e.lost, 0);
  const duplicated =
    Object.values(settled).reduce((sum, e) => sum + e.duplicated, 0) +
    [...probes.values()].filter((n) => n > 1).length;
  const byTarget: Record<
    string,
    { faults: number; maxRecoveryMs: number | null; medianRecoveryMs: number | null }
  > = {};
  for (const target of new Set(faults.map((fault) => fault.target))) {
    const times = faults
      .filter((fault) => fault.target === target)
      .map((fault) => fault.recoveryMs ?? Infinity)
      .sort((a, b) => a - b);
    const finite = (ms: number) => (Number.isFinite(ms) ? ms : null);
    byTarget[target] = {
      faults: times.length,
      maxRecoveryMs: finite(times.at(-1)!),
      medianRecoveryMs: finite(times[Math.floor(times.length / 2)]!),
    };
  }
  return {
    date: new Date().toISOString(),
    seconds: SECONDS,
    clients: CLIENTS,
    requests: Object.fromEntries([...ledger.outcomes.entries()].sort((a, b) => b[1] - a[1])),
    unexpectedAnswers: Object.fromEntries([...unexpected.entries()].sort((a, b) => b[1] - a[1])),
    registered: ledger.registered.length,
    events: { published, consumed },
    effects: settled,
    lost,
    duplicated,
    successesNotDurable,
    failuresLeftBehind,
    recovery: byTarget,
    faults,
  };
}

async function sumOver(env: TestSupergraph, sql: string): Promise<number> {
  let total = 0;
  for (const name of SUBGRAPH_NAMES)
    total += Number((await subgraphSql<{ n: string }>(env, name, sql, []))[0]!.n);
  return total;
}

function printTable(report: Awaited<ReturnType<typeof verify>>): void {
  console.log(`\n| ${report.seconds} s, ${report.clients} clients | result |`);
  console.log("| --- | --- |");
  console.log(
    `| requests by outcome | ${Object.entries(report.requests)
      .map(([code, n]) => `${code} ${n}`)
      .join(", ")} |`,
  );
  console.log(`| events published / consumed | ${report.events.published} / ${report.events.consumed} |`);
  console.log(`| lost / duplicated effects | ${report.lost} / ${report.duplicated} |`);
  console.log(
    `| successes not durable / failures that left something | ${report.successesNotDurable} / ${report.failuresLeftBehind} |`,
  );
  for (const [target, r] of Object.entries(report.recovery))
    console.log(
      `| ${target}: ${r.faults} faults, recovery median / max | ${r.medianRecoveryMs} / ${r.maxRecoveryMs} ms |`,
    );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import { SUBGRAPH_NAMES, type SubgraphName } from "../../../platform/config";
import { subgraphSql, type TestSupergraph } from "../../../test/support/supergraph-fixture";
import { sleep } from "../../support/timing";
import type { Fault } from "./faults";
import { ledger, unexpected } from "./ledger";

/**
 * After the traffic, every answer is checked against the databases: what a client was told
 * succeeded is there once, what it was told failed left nothing, every event had its effects once.
 */

export type ChaosReport = Awaited<ReturnType<typeof verify>>;

export async function verify(
  env: TestSupergraph,
  faults: Fault[],
  settings: { seconds: number; clients: number },
) {
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
    seconds: settings.seconds,
    clients: settings.clients,
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

export function printTable(report: ChaosReport): void {
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

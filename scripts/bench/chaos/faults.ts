import type { SubgraphName } from "../../../platform/config";
import { LoginDocument, MeDocument } from "../../../schema/generated/graphql";
import { subgraphSql, type TestSupergraph } from "../../../test/support/supergraph-fixture";
import type { TcpProxy } from "../../../test/support/tcp-proxy";
import { sleep } from "../../support/timing";
import { PASSWORD, registerUser } from "./clients";
import { ledger, type User } from "./ledger";

/**
 * The chaos loop: every few seconds one proxied service (Redis, RabbitMQ, one subgraph's
 * PostgreSQL) is cut, stalled or slowed for a while, then restored, and the time until an
 * operation that needs it works again is recorded.
 */

export type Target = "redis" | "rabbitmq" | `postgres:${SubgraphName}`;
type Mode = "cut" | "stall" | "slow";

export interface Fault {
  target: Target;
  mode: Mode;
  heldMs: number;
  recoveryMs: number | null;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

export async function chaos(
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

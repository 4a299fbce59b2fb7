import { performance } from "node:perf_hooks";

import { Pool } from "undici";

import { MIX, type OperationName, OPERATIONS } from "./operations";

/**
 * A closed-loop load generator on undici: `connections` workers, each with its own keep-alive
 * connection, send the mix back to back for a fixed time. Every answer is checked (HTTP 200 and
 * no `errors` member), so a target that answers fast but wrong cannot win.
 */

/**
 * Access tokens. Worker w is one client: it sends as users[w] and admins[w], so no caller ever has
 * two requests in flight. (Identical concurrent requests of one caller would let Hive Gateway's
 * in-flight deduplication answer several from one subgraph fetch: a real feature, but not what
 * distinct clients get.)
 */
export interface Callers {
  /** Signed-in USERs: `me` and `trackEvent`. */
  users: string[];
  /** ADMINs: `users(first: 20)`. */
  admins: string[];
}

export interface RoundResult {
  seconds: number;
  ok: number;
  failed: number;
  firstFailure: string | null;
  /** Latency in ms of every successful request, per operation. */
  latencies: Record<OperationName, number[]>;
}

export async function runLoad(
  url: string,
  callers: Callers,
  options: { seconds: number; connections: number },
): Promise<RoundResult> {
  if (callers.users.length < options.connections || callers.admins.length < options.connections)
    throw new Error(`one USER and one ADMIN per connection needed (${options.connections})`);
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: options.connections, pipelining: 1 });
  const headersFor = (token: string) => ({
    "content-type": "application/json",
    authorization: `Bearer ${token}`,
    "user-agent": "orion-bench/1",
  });
  const userHeaders = callers.users.map(headersFor);
  const adminHeaders = callers.admins.map(headersFor);
  const latencies: Record<OperationName, number[]> = { me: [], users: [], trackEvent: [] };
  let ok = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;

  const worker = async (w: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const operation = OPERATIONS[MIX[(w + i) % MIX.length]!];
      const headers = (operation.caller === "admin" ? adminHeaders : userHeaders)[w]!;
      const sent = performance.now();
      try {
        const response = await pool.request({
          path: target.pathname,
          method: "POST",
          headers,
          body: operation.body,
        });
        const text = await response.body.text();
        if (response.statusCode !== 200 || text.includes('"errors"'))
          throw new Error(`${operation.name}: HTTP ${response.statusCode} ${text.slice(0, 300)}`);
        latencies[operation.name].push(performance.now() - sent);
        ok++;
      } catch (error) {
        failed++;
        firstFailure ??= error instanceof Error ? error.message : String(error);
        // A refusing target must not turn into a busy loop.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.connections }, (_, w) => worker(w)));
  } finally {
    await pool.close();
  }
  return { seconds: (performance.now() - started) / 1000, ok, failed, firstFailure, latencies };
}

/** q-quantile of ascending values (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

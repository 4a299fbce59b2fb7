import { performance } from "node:perf_hooks";

import { machineBusySeconds, postgresBackends, processCpuSeconds } from "../../support/proc";
import { type Callers, type RoundResult, runLoad } from "./load";
import { MIX } from "./operations";
import type { Target } from "./services";
import { CONNECTIONS, log, ROUNDS, SECONDS, type TargetId, WARMUP_SECONDS } from "./settings";

interface CpuSnapshot {
  at: number;
  target: number;
  subgraphs: number;
  postgres: Map<number, number>;
  self: number;
  machine: number;
}

export interface RoundRecord {
  round: number;
  seconds: number;
  ok: number;
  failed: number;
  requestsPerSecond: number;
  /** CPU seconds used during the round. */
  cpu: { target: number; subgraphs: number; postgres: number; loadGenerator: number; machine: number };
}

/** Every round of one target, and what its load generator saw. */
export interface Collected {
  rounds: RoundRecord[];
  results: RoundResult[];
}

/** The processes whose CPU time is charged to the target being measured, besides its own. */
export interface CountedProcesses {
  subgraphPids: number[];
  /** The run's databases: their PostgreSQL backends are found by name (proc.ts postgresBackends). */
  postgresPrefix: string;
}

export async function warmUp(targets: Target[], callers: Callers): Promise<void> {
  log(`warm-up: ${WARMUP_SECONDS} s per target`);
  for (const target of targets) {
    const warm = await runLoad(target.url, callers, { seconds: WARMUP_SECONDS, connections: CONNECTIONS });
    if (warm.ok === 0)
      throw new Error(`${target.label}: no request succeeded in warm-up: ${warm.firstFailure}`);
  }
}

/**
 * ROUNDS rounds, each target once per round; each round starts one target later, so the machine's
 * warming up and drifting noise spread over every target (see scripts/bench/router.ts).
 */
export async function measureRounds(
  targets: Target[],
  callers: Callers,
  counted: CountedProcesses,
): Promise<Map<TargetId, Collected>> {
  const { subgraphPids, postgresPrefix } = counted;
  const snapshot = (targetPid: number): CpuSnapshot => {
    const self = process.cpuUsage();
    return {
      at: performance.now(),
      target: processCpuSeconds(targetPid),
      subgraphs: subgraphPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
      postgres: new Map(postgresBackends(postgresPrefix).map((pid) => [pid, processCpuSeconds(pid)])),
      self: (self.user + self.system) / 1e6,
      machine: machineBusySeconds(),
    };
  };
  const collected = new Map<TargetId, Collected>(targets.map((t) => [t.id, { rounds: [], results: [] }]));
  log(
    `measuring: ${ROUNDS} rounds × ${targets.length} targets × ${SECONDS} s, ${CONNECTIONS} connections, mix ${MIX.join(" ")}`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    const lead = (round - 1) % targets.length;
    for (const target of [...targets.slice(lead), ...targets.slice(0, lead)]) {
      const before = snapshot(target.child.pid);
      const result = await runLoad(target.url, callers, { seconds: SECONDS, connections: CONNECTIONS });
      const after = snapshot(target.child.pid);
      let postgres = 0;
      for (const [pid, cpu] of after.postgres) postgres += cpu - (before.postgres.get(pid) ?? 0);
      const record: RoundRecord = {
        round,
        seconds: result.seconds,
        ok: result.ok,
        failed: result.failed,
        requestsPerSecond: result.ok / result.seconds,
        cpu: {
          target: after.target - before.target,
          subgraphs: after.subgraphs - before.subgraphs,
          postgres,
          loadGenerator: after.self - before.self,
          machine: after.machine - before.machine,
        },
      };
      collected.get(target.id)!.rounds.push(record);
      collected.get(target.id)!.results.push(result);
      log(
        `round ${round} ${target.label}: ${record.requestsPerSecond.toFixed(0)} req/s, ${result.failed} failed${result.firstFailure ? ` (${result.firstFailure.slice(0, 200)})` : ""}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  return collected;
}

import { quantile } from "./load";
import { type OperationName, OPERATIONS } from "./operations";
import type { Collected, RoundRecord } from "./rounds";
import type { Target } from "./services";
import type { TargetId } from "./settings";

/** What a run's rounds come to: per target, the goals (a) is held to, and the Markdown table. */

export interface TargetResult {
  id: TargetId;
  label: string;
  url: string;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  perOperation: Record<OperationName, { requests: number; p50: number; p99: number }>;
  failed: number;
  firstFailure: string | null;
  /** Server-side CPU per successful request: the target's process, the four subgraphs, this run's PostgreSQL backends. */
  cpuMsPerRequest: { target: number; subgraphs: number; postgres: number; total: number };
  /**
   * Cores busy outside the processes counted above (other sessions' work, Redis, RabbitMQ,
   * PostgreSQL's background processes, the kernel), mean over its rounds: how noisy they were.
   */
  otherLoadCores: number;
  rounds: RoundRecord[];
  ratios?: Record<string, number>;
}

/** Every target's summary, with its requests/s over each comparison target's. */
export function summarizeTargets(
  targets: Pick<Target, "id" | "label" | "url">[],
  collected: Map<TargetId, Collected>,
): TargetResult[] {
  const results = targets.map((target) => summarize(target, collected.get(target.id)!));
  const byId = new Map(results.map((r) => [r.id, r]));
  for (const result of results) {
    result.ratios = {};
    for (const base of ["b", "c", "d"] as const) {
      const other = byId.get(base);
      if (other)
        result.ratios[`requestsPerSecondVs_${base}`] = result.requestsPerSecond / other.requestsPerSecond;
    }
  }
  return results;
}

function summarize(target: Pick<Target, "id" | "label" | "url">, collected: Collected): TargetResult {
  const { rounds, results } = collected;
  const ok = rounds.reduce((sum, r) => sum + r.ok, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const all = new Float64Array(results.flatMap((r) => Object.values(r.latencies).flat())).sort();
  const perOperation = Object.fromEntries(
    (Object.keys(OPERATIONS) as OperationName[]).map((name) => {
      const values = new Float64Array(results.flatMap((r) => r.latencies[name])).sort();
      return [name, { requests: values.length, p50: quantile(values, 0.5), p99: quantile(values, 0.99) }];
    }),
  ) as TargetResult["perOperation"];
  const cpu = (key: "target" | "subgraphs" | "postgres") =>
    (rounds.reduce((sum, r) => sum + r.cpu[key], 0) / Math.max(ok, 1)) * 1000;
  const ours = (r: RoundRecord) => r.cpu.target + r.cpu.subgraphs + r.cpu.postgres + r.cpu.loadGenerator;
  return {
    id: target.id,
    label: target.label,
    url: target.url,
    requestsPerSecond: ok / seconds,
    latencyMs: { p50: quantile(all, 0.5), p99: quantile(all, 0.99), max: all.at(-1) ?? Number.NaN },
    perOperation,
    failed: rounds.reduce((sum, r) => sum + r.failed, 0),
    firstFailure: results.find((r) => r.firstFailure)?.firstFailure ?? null,
    cpuMsPerRequest: {
      target: cpu("target"),
      subgraphs: cpu("subgraphs"),
      postgres: cpu("postgres"),
      total: cpu("target") + cpu("subgraphs") + cpu("postgres"),
    },
    otherLoadCores:
      rounds.reduce((sum, r) => sum + Math.max(0, r.cpu.machine - ours(r)) / r.seconds, 0) / rounds.length,
    rounds,
  };
}

export interface Goal {
  goal: string;
  /** (a)'s requests/s over the other's: what the issue's targets are stated in. */
  ratio: number | null;
  met: boolean | null;
  /**
   * The same ratio in requests per server CPU-second (the other's CPU ms per request over (a)'s):
   * less sensitive to other work on the machine, and fair to (d), which is one process and so
   * cannot use a second core the way the gateway and subgraph processes can.
   */
  cpuEfficiencyRatio: number | null;
  metByCpuEfficiency: boolean | null;
  /** The router alone: the other gateway process's CPU ms per request over (a)'s (not for (d), whose process also resolves). */
  gatewayCpuRatio: number | null;
}

export function evaluateGoals(results: TargetResult[]): Goal[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  const a = byId.get("a");
  const goal = (text: string, other: TargetId, minimum: number): Goal => {
    const base = byId.get(other);
    if (!a || !base)
      return {
        goal: text,
        ratio: null,
        met: null,
        cpuEfficiencyRatio: null,
        metByCpuEfficiency: null,
        gatewayCpuRatio: null,
      };
    const ratio = a.requestsPerSecond / base.requestsPerSecond;
    const cpuEfficiencyRatio = base.cpuMsPerRequest.total / a.cpuMsPerRequest.total;
    return {
      goal: text,
      ratio,
      met: ratio >= minimum,
      cpuEfficiencyRatio,
      metByCpuEfficiency: cpuEfficiencyRatio >= minimum,
      gatewayCpuRatio: other === "d" ? null : base.cpuMsPerRequest.target / a.cpuMsPerRequest.target,
    };
  };
  return [goal("(a) ≥ 1.3 × (b)", "b", 1.3), goal("(a) ≥ (c)", "c", 1), goal("(a) ≥ 0.6 × (d)", "d", 0.6)];
}

export function render(results: TargetResult[], goals: Goal[], mismatches: string[]): string {
  const b = results.find((r) => r.id === "b");
  const d = results.find((r) => r.id === "d");
  const x = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(2)}×`);
  const lines = [
    `| target | requests/s | × (b) | × (d) | p50 ms | p99 ms | CPU ms/request (gateway + subgraphs + PostgreSQL) | failed |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...results.map((r) => {
      const c = r.cpuMsPerRequest;
      return `| ${r.label} | ${r.requestsPerSecond.toFixed(0)} | ${x(b && r.requestsPerSecond / b.requestsPerSecond)} | ${x(d && r.requestsPerSecond / d.requestsPerSecond)} | ${r.latencyMs.p50.toFixed(1)} | ${r.latencyMs.p99.toFixed(1)} | ${c.total.toFixed(2)} (${c.target.toFixed(2)} + ${c.subgraphs.toFixed(2)} + ${c.postgres.toFixed(2)}) | ${r.failed} |`;
    }),
    "",
    ...goals.map((g) =>
      g.ratio === null || g.cpuEfficiencyRatio === null
        ? `- ${g.goal}: not measured`
        : `- ${g.goal}: requests/s ${g.ratio.toFixed(2)}× — ${g.met ? "met" : "NOT met"}; per server CPU-second ${g.cpuEfficiencyRatio.toFixed(2)}× — ${g.metByCpuEfficiency ? "met" : "NOT met"}${g.gatewayCpuRatio === null ? "" : `; gateway process alone ${g.gatewayCpuRatio.toFixed(2)}×`}`,
    ),
    `- answers identical on every target: ${mismatches.length === 0 ? "yes" : `no (${mismatches.join("; ")})`}`,
    `- machine CPU outside the counted processes (other work, Redis, RabbitMQ, kernel), mean cores: ${results
      .map((r) => `${r.id} ${r.otherLoadCores.toFixed(2)}`)
      .join(", ")}`,
  ];
  return lines.join("\n");
}

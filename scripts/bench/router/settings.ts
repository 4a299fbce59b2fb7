import path from "node:path";
import { performance } from "node:perf_hooks";

import { CONTAINER_NODE_OPTIONS } from "../../support/environment";

/** What `npm run bench:router` reads from its environment (see scripts/bench/router.ts). */

export type TargetId = "a" | "a64" | "b" | "c" | "d";

const number = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
export const SECONDS = number("BENCH_SECONDS", 5);
export const ROUNDS = number("BENCH_ROUNDS", 8);
export const WARMUP_SECONDS = number("BENCH_WARMUP_SECONDS", 3);
export const CONNECTIONS = number("BENCH_CONNECTIONS", 16);
export const USERS = 20;
export const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? "info";
export const WATCHDOG_MS = 8 * 60_000;
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR;
/** With BENCH_CPU_PROFILE_DIR set, every process writes a V8 CPU profile there when it stops. */
export const profiling = (name: string) =>
  PROFILE_DIR
    ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];

export interface TargetSpec {
  label: string;
  script: string;
  args?: string[];
  nodeOptions: string;
}

export const TARGETS: Record<TargetId, TargetSpec> = {
  a: {
    label: "(a) ORION router, everything on",
    script: "cli/main.ts",
    args: ["serve", "router"],
    nodeOptions: CONTAINER_NODE_OPTIONS,
  },
  a64: {
    label: "(a) ORION router, --max-semi-space-size=64",
    script: "cli/main.ts",
    args: ["serve", "router"],
    nodeOptions: "--max-semi-space-size=64",
  },
  b: {
    label: "(b) stock @apollo/gateway + @apollo/server",
    script: "scripts/bench/router/stock-gateway.ts",
    nodeOptions: CONTAINER_NODE_OPTIONS,
  },
  c: {
    label: "(c) Hive Gateway (gateway-runtime)",
    script: "scripts/bench/router/hive-gateway.ts",
    nodeOptions: CONTAINER_NODE_OPTIONS,
  },
  d: {
    label: "(d) monolith: same resolvers, no hop",
    script: "scripts/bench/router/monolith.ts",
    nodeOptions: CONTAINER_NODE_OPTIONS,
  },
};

export const SELECTED = (process.env.BENCH_TARGETS ?? "a,b,c,d")
  .split(",")
  .map((id) => id.trim()) as TargetId[];
for (const id of SELECTED) if (!(id in TARGETS)) throw new Error(`unknown target ${id} in BENCH_TARGETS`);

const STARTED = performance.now();
/** Progress, on stderr (stdout carries the result table), stamped with the seconds since the start. */
export const log = (message: string) =>
  process.stderr.write(`[bench:router +${((performance.now() - STARTED) / 1000).toFixed(0)}s] ${message}\n`);
export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

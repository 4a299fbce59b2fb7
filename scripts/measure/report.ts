import os from "node:os";

import { SUBGRAPH_NAMES } from "../../platform/config";
import type { AllInOneRun } from "./all-in-one";
import type { QueryMeasurement, QueryResult } from "./queries";
import type { StandaloneResult } from "./standalone";

/** The Markdown section `npm run measure` prints for docs/benchmarks.md, with its checks against the targets. */

/** The skeleton issue's targets, in decimal megabytes (1 MiB = 1.049 MB): compared in bytes, not MiB. */
const TARGETS = { startSeconds: 15, allInOneMB: 600, serviceMB: 150 };
const underMB = (kib: number, mb: number) => kib * 1024 < mb * 1e6;
const mib = (kib: number) => kib / 1024;
const fmtMiB = (kib: number) => `${mib(kib).toFixed(0)} MiB`;
const fmtSeconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Results {
  runId: string;
  buildMs: number;
  /** The machine's load when the script began: other work skews the timings. */
  loadAtStart: number;
  cold: Outcome<AllInOneRun>;
  warm: Outcome<AllInOneRun>;
  standalone: Outcome<StandaloneResult>;
  queries: Outcome<QueryResult>;
  leftovers: string[];
}

export function render(results: Results): string {
  const checks: string[] = [];
  const check = (ok: boolean, text: string) => checks.push(`- ${ok ? "✅" : "❌"} ${text}`);
  const cpus = os.cpus();
  const lines: string[] = [
    "### Measurements",
    "",
    `Measured by \`npm run measure\` on ${new Date().toISOString().slice(0, 10)}: ${cpus[0]?.model.trim() ?? "unknown CPU"} ` +
      `(${cpus.length} CPUs), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}, Node ${process.version}; ` +
      `load average ${results.loadAtStart.toFixed(1)} when it began, ${(os.loadavg()[0] ?? 0).toFixed(1)} at the end. ` +
      `\`npm run build\` ran once first (${fmtSeconds(results.buildMs)}) and is not part of the start times.`,
    "",
    "#### `npm start`: start-up and memory (all-in-one, embedded defaults)",
    "",
    "Start = from spawning `node dist/cli/main.js start` (what `npm start` runs after its build) to the first `200` from " +
      "the router's `/ready`. Memory is VmRSS from `/proc`. The embedded PostgreSQL runs as separate processes (server and " +
      "backends), listed apart. Warm-up = 1 registration, then 200 `me` queries touching all four subgraphs (4 in flight). " +
      "Stopped with SIGTERM to the process group.",
    "",
    "| Run | Start → ready | Node RSS, ready | Node RSS, after warm-up | PostgreSQL RSS, ready | PostgreSQL RSS, after warm-up | Shutdown |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  const runs: [string, Outcome<AllInOneRun>][] = [
    ["Cold (fresh data dir: initdb, migrations, keys)", results.cold],
    ["Warm (same data dir, second start)", results.warm],
  ];
  for (const [label, outcome] of runs) {
    if (!outcome.ok) {
      lines.push(`| ${label} | FAILED: ${cell(outcome.error)} | | | | | |`);
      check(false, `${label}: failed`);
      continue;
    }
    const run = outcome.value;
    const pg = (memory: AllInOneRun["ready"]) =>
      `${fmtMiB(memory.children.rssKiB)} (${memory.children.count} processes)`;
    lines.push(
      `| ${label} | ${fmtSeconds(run.startMs)}${run.selfReported ? ` (CLI says ${run.selfReported})` : ""} | ` +
        `${fmtMiB(run.ready.rssKiB)} | ${fmtMiB(run.afterWarmUp.rssKiB)} | ${pg(run.ready)} | ${pg(run.afterWarmUp)} | ${cell(run.stop.detail)} |`,
    );
    check(
      run.startMs < TARGETS.startSeconds * 1000,
      `${run.label} start ${fmtSeconds(run.startMs)} (target < ${TARGETS.startSeconds} s)`,
    );
    const totalRss = run.afterWarmUp.rssKiB + run.afterWarmUp.children.rssKiB;
    const totalPss = run.afterWarmUp.rssKiB + run.afterWarmUp.children.pssKiB;
    check(
      underMB(totalRss, TARGETS.allInOneMB),
      `${run.label} all-in-one after warm-up: Node ${fmtMiB(run.afterWarmUp.rssKiB)} + PostgreSQL ${fmtMiB(run.afterWarmUp.children.rssKiB)} ` +
        `RSS = ${fmtMiB(totalRss)} (with PostgreSQL's proportional share, PSS, instead: ${fmtMiB(totalPss)}; target < ${TARGETS.allInOneMB} MB)`,
    );
    check(
      run.warmUp.failed === 0,
      `${run.label} warm-up: ${run.warmUp.failed} of ${run.warmUp.requests} requests failed${run.warmUp.firstError ? ` (first: ${run.warmUp.firstError})` : ""}`,
    );
    check(run.stop.clean, `${run.label} shutdown on SIGTERM: ${run.stop.detail}`);
    const others = run.afterWarmUp.children.names.filter((name) => !name.startsWith("postgres"));
    if (others.length > 0)
      check(false, `${run.label}: unexpected child processes besides PostgreSQL: ${others.join(", ")}`);
  }
  if (results.cold.ok || results.warm.ok) {
    const pss = runs
      .filter(([, outcome]) => outcome.ok)
      .map(([, outcome]) => (outcome as { value: AllInOneRun }).value)
      .map((run) => `${run.label} ${fmtMiB(run.afterWarmUp.children.pssKiB)}`)
      .join(", ");
    lines.push(
      "",
      "`CLI says` is the CLI's own `ready in` figure, timed from inside the process once its modules have loaded. " +
        "Summing RSS over PostgreSQL's processes counts its shared memory once per process; its proportional set size " +
        `(PSS) after warm-up is ${pss}.`,
    );
  }

  lines.push(
    "",
    "#### Each service alone (`orion serve <name>`)",
    "",
    "Real PostgreSQL, Redis and RabbitMQ on the same machine, `NODE_ENV=production`, one database per subgraph; services " +
      "started one after another (router last); the same warm-up through the standalone router.",
    "",
  );
  if (!results.standalone.ok) {
    lines.push(`FAILED: ${results.standalone.error}`);
    check(false, "each service alone: failed");
  } else {
    const result = results.standalone.value;
    lines.push(
      "| Service | Start → ready | RSS, ready | RSS, after warm-up | Shutdown |",
      "| --- | ---: | ---: | ---: | --- |",
    );
    for (const service of result.services) {
      lines.push(
        `| ${service.name} | ${fmtSeconds(service.readyMs)} | ${fmtMiB(service.readyKiB)} | ${fmtMiB(service.afterKiB)} | ${cell(service.stop?.detail ?? "?")} |`,
      );
      check(
        underMB(service.afterKiB, TARGETS.serviceMB),
        `${service.name} alone after warm-up: ${fmtMiB(service.afterKiB)} (target < ${TARGETS.serviceMB} MB)`,
      );
      if (service.stop && !service.stop.clean)
        check(false, `${service.name} shutdown on SIGTERM: ${service.stop.detail}`);
    }
    check(
      result.warmUp.failed === 0,
      `standalone warm-up: ${result.warmUp.failed} of ${result.warmUp.requests} requests failed${result.warmUp.firstError ? ` (first: ${result.warmUp.firstError})` : ""}`,
    );
    check(
      result.mailsReceived >= 1,
      `standalone: welcome e-mails received by the test SMTP server: ${result.mailsReceived}`,
    );
    check(
      result.cleanup.length === 0,
      `standalone cleanup (databases, Redis keys, RabbitMQ exchanges and queues): ${result.cleanup.length === 0 ? "nothing left" : result.cleanup.join("; ")}`,
    );
  }

  lines.push("", "#### SQL statements per request", "");
  if (!results.queries.ok) {
    lines.push(`FAILED: ${results.queries.error}`);
    check(false, "SQL statements per request: failed");
  } else {
    const result = results.queries.value;
    lines.push(
      `Supergraph in-process on the embedded PostgreSQL with ${result.users} users (one of them ADMIN), every registration ` +
        "event consumed; statements counted by each subgraph's `db.queryCount()` over 5 requests after a first, unmeasured one.",
      "",
      `| Request | Caller | ${SUBGRAPH_NAMES.join(" | ")} | Total |`,
      `| --- | --- | ${SUBGRAPH_NAMES.map(() => "---:").join(" | ")} | ---: |`,
    );
    for (const m of result.measurements) {
      const totals = m.counts.auth.map((_, run) =>
        SUBGRAPH_NAMES.reduce((sum, name) => sum + (m.counts[name][run] ?? 0), 0),
      );
      lines.push(
        `| ${m.label} | ${m.caller} | ${SUBGRAPH_NAMES.map((name) => range(m.counts[name])).join(" | ")} | ${range(totals)} |`,
      );
      const over = SUBGRAPH_NAMES.filter((name) => Math.max(...m.counts[name]) > 1);
      check(
        over.length === 0,
        `${m.label.split(" ")[0]} as ${m.caller}: ${over.length === 0 ? "at most one statement per subgraph" : `more than one statement in ${over.map((name) => `${name} (${range(m.counts[name])})`).join(", ")}`}`,
      );
    }
    lines.push("", "<details><summary>The statements (last measured request) and the answers</summary>", "");
    for (const m of result.measurements) lines.push(...statementList(m));
    lines.push("</details>");
  }

  if (results.leftovers.length > 0)
    check(false, `left running after the measurements (stopped now): ${results.leftovers.join("; ")}`);
  else check(true, "nothing left running: every process this script started has exited");
  lines.push("", "#### Checks", "", ...checks);
  return lines.join("\n");
}

function statementList(m: QueryMeasurement): string[] {
  const lines = [`${m.label.split(" ")[0]} as ${m.caller} answered: ${m.answer}`, ""];
  for (const name of SUBGRAPH_NAMES) {
    lines.push(`- ${name}:${m.statements[name].length === 0 ? " none" : ""}`);
    for (const sql of m.statements[name])
      lines.push(`  - \`${sql.replace(/\s+/g, " ").replace(/`/g, "'").slice(0, 240)}\``);
  }
  lines.push("");
  return lines;
}

function range(values: number[]): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? String(low) : `${low}–${high}`;
}

function cell(text: string): string {
  return text
    .replace(/\|/g, "\\|")
    .replace(/\s*\n\s*/g, " ")
    .slice(0, 300);
}

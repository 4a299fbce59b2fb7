import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SUBGRAPH_NAMES } from "../platform/config";
import { PROJECT_ROOT } from "../platform/paths";
import { runAllInOne, type AllInOneRun } from "./measure/all-in-one";
import { descendants, isAlive } from "./measure/proc";
import { measureQueries, type QueryMeasurement, type QueryResult } from "./measure/queries";
import { onAbort, sleep, Spawned, within } from "./measure/spawned";
import { measureStandalone, type StandaloneResult } from "./measure/standalone";

/**
 * `npm run measure`: start-up time and memory of `npm start`, memory of each service alone, and
 * SQL statements per request. Prints a Markdown section (stdout) for the README; progress goes to stderr.
 */

/** The skeleton issue's targets, in decimal megabytes (1 MiB = 1.049 MB): compared in bytes, not MiB. */
const TARGETS = { startSeconds: 15, allInOneMB: 600, serviceMB: 150 };
const underMB = (kib: number, mb: number) => kib * 1024 < mb * 1e6;
const WATCHDOG_MS = 25 * 60_000;

const log = (message: string) => process.stderr.write(`[measure] ${message}\n`);
const mib = (kib: number) => kib / 1024;
const fmtMiB = (kib: number) => `${mib(kib).toFixed(0)} MiB`;
const fmtSeconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };
async function attempt<T>(what: string, step: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await step() };
  } catch (error) {
    log(`${what} FAILED: ${errorText(error)}`);
    return { ok: false, error: errorText(error) };
  }
}

/** Other work on the machine skews the timings: the load when this script began goes into the report. */
const LOAD_AT_START = os.loadavg()[0] ?? 0;
let workDir: string | null = null;
const dataDirs: string[] = [];

async function main(): Promise<number> {
  const runId = `m${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  log(`run ${runId}`);

  log("building once before any timing: npm run build");
  const buildStarted = Date.now();
  const build = spawnSync("npm", ["run", "build", "--silent"], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", 2, 2],
    timeout: 300_000,
  });
  if (build.status !== 0)
    throw new Error(
      `npm run build failed (status ${build.status}, ${build.error?.message ?? "see output above"})`,
    );
  const buildMs = Date.now() - buildStarted;
  if (!existsSync(path.join(PROJECT_ROOT, "dist/cli/main.js")))
    throw new Error("dist/cli/main.js missing after the build");

  workDir = mkdtempSync(path.join(os.tmpdir(), "orion-measure-"));
  // Root runs PostgreSQL as the postgres user, which must reach the data folders.
  chmodSync(workDir, 0o755);
  const allInOneDir = path.join(workDir, "all-in-one");
  const queriesDir = path.join(workDir, "queries");
  dataDirs.push(allInOneDir, queriesDir);

  const cold = await attempt("cold start", () => runAllInOne("cold", allInOneDir, runId, log));
  const warm = await attempt("warm start", () => runAllInOne("warm", allInOneDir, runId, log));
  const standalone = await attempt("standalone services", () => measureStandalone(runId, log));
  const queries = await attempt("queries per request", () => measureQueries(runId, queriesDir, log));

  const leftovers = await stopLeftovers();
  removeWorkDir();

  const markdown = render({ runId, buildMs, cold, warm, standalone, queries, leftovers });
  process.stdout.write(`${markdown}\n`);
  const failed = [cold, warm, standalone, queries].some((outcome) => !outcome.ok) || leftovers.length > 0;
  return failed ? 1 : 0;
}

/** Anything this script started that still runs (it should be nothing) is stopped and reported. */
async function stopLeftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const service of [...Spawned.running]) {
    found.push(`${service.label} (pid ${service.pid})`);
    await service.stop();
  }
  const children = descendants(process.pid);
  if (children.length > 0) {
    found.push(`${children.length} child process(es): ${children.join(", ")}`);
    for (const pid of children) signal(pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (children.some(isAlive) && Date.now() < deadline) await sleep(100);
    for (const pid of children.filter(isAlive)) signal(pid, "SIGKILL");
  }
  if (found.length > 0) log(`left running and now stopped: ${found.join("; ")}`);
  return found;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** The temp folder, and the cluster folder root would use if it could not reach the data folder (see embedded-postgres.ts). */
function removeWorkDir(): void {
  for (const dir of dataDirs) {
    const key = createHash("sha256").update(path.resolve(dir, "pg")).digest("hex").slice(0, 12);
    rmSync(path.join(os.tmpdir(), `orion-pg-${key}`), { recursive: true, force: true });
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = null;
}

let aborting = false;

/** Watchdog or Ctrl-C: kill every process this script started, then undo outside state (bounded), then exit. */
async function emergencyStop(reason: string, code: number): Promise<never> {
  if (!aborting) {
    aborting = true;
    log(`${reason}: killing everything this script started`);
    for (const service of [...Spawned.running]) service.kill();
    for (const pid of descendants(process.pid)) signal(pid, "SIGKILL");
    for (const step of onAbort) {
      if (
        !(await within(
          step().catch(() => undefined),
          20_000,
        ))
      )
        log("an abort clean-up step timed out");
    }
    try {
      removeWorkDir();
    } catch {
      // best effort
    }
  }
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------
// Markdown

interface Results {
  runId: string;
  buildMs: number;
  cold: Outcome<AllInOneRun>;
  warm: Outcome<AllInOneRun>;
  standalone: Outcome<StandaloneResult>;
  queries: Outcome<QueryResult>;
  leftovers: string[];
}

function render(results: Results): string {
  const checks: string[] = [];
  const check = (ok: boolean, text: string) => checks.push(`- ${ok ? "✅" : "❌"} ${text}`);
  const cpus = os.cpus();
  const lines: string[] = [
    "### Measurements",
    "",
    `Measured by \`npm run measure\` on ${new Date().toISOString().slice(0, 10)}: ${cpus[0]?.model.trim() ?? "unknown CPU"} ` +
      `(${cpus.length} CPUs), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}, Node ${process.version}; ` +
      `load average ${LOAD_AT_START.toFixed(1)} when it began, ${(os.loadavg()[0] ?? 0).toFixed(1)} at the end. ` +
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

const watchdog = setTimeout(
  () => void emergencyStop(`still running after ${WATCHDOG_MS / 60_000} minutes`, 2),
  WATCHDOG_MS,
);
watchdog.unref();
process.once("SIGINT", () => void emergencyStop("interrupted", 130));
process.once("SIGTERM", () => void emergencyStop("terminated", 143));

main()
  .then((code) => process.exit(code))
  .catch(async (error: unknown) => {
    log(`FAILED: ${errorText(error)}`);
    await stopLeftovers().catch(() => undefined);
    removeWorkDir();
    process.exit(1);
  });

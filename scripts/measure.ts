import "reflect-metadata";

import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { PROJECT_ROOT } from "../platform/paths";
import { runAllInOne } from "./measure/all-in-one";
import { measureQueries } from "./measure/queries";
import { type Outcome, render } from "./measure/report";
import { measureStandalone } from "./measure/standalone";
import { stopLeftovers } from "./support/processes";
import { runScript } from "./support/watchdog";

/**
 * `npm run measure`: start-up time and memory of `npm start`, memory of each service alone, and
 * SQL statements per request. Prints a Markdown section (stdout) for docs/benchmarks.md; progress goes to stderr.
 */

const WATCHDOG_MS = 25 * 60_000;

const log = (message: string) => process.stderr.write(`[measure] ${message}\n`);
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

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

  const leftovers = await stopAndReportLeftovers();
  removeWorkDir();

  const markdown = render({
    runId,
    buildMs,
    loadAtStart: LOAD_AT_START,
    cold,
    warm,
    standalone,
    queries,
    leftovers,
  });
  process.stdout.write(`${markdown}\n`);
  const failed = [cold, warm, standalone, queries].some((outcome) => !outcome.ok) || leftovers.length > 0;
  return failed ? 1 : 0;
}

/** Anything this script started that still runs (it should be nothing) is stopped and reported. */
async function stopAndReportLeftovers(): Promise<string[]> {
  const found = await stopLeftovers();
  if (found.length > 0) log(`left running and now stopped: ${found.join("; ")}`);
  return found;
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

runScript(main, {
  log,
  limitMs: WATCHDOG_MS,
  afterAbort: removeWorkDir,
  afterFailure: async () => {
    await stopAndReportLeftovers();
    removeWorkDir();
  },
});

import "reflect-metadata";

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { format, resolveConfig } from "prettier";

import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { generateKeyMaterial } from "../../platform/identity/keys";
import { PROJECT_ROOT } from "../../platform/paths";
import {
  CONTAINER_NODE_OPTIONS,
  databasePrefix,
  databaseUrl,
  freePorts,
  requireRealServices,
  type ServiceRun,
} from "../support/environment";
import { stopLeftovers } from "../support/processes";
import { cleanUp } from "../support/run-cleanup";
import { startSmtp } from "../support/smtp-sink";
import { within } from "../support/timing";
import { onAbort, runScript } from "../support/watchdog";
import { edgeEvidence, validate } from "./router/answers";
import { MIX, OPERATIONS } from "./router/operations";
import { evaluateGoals, type Goal, render, summarizeTargets, type TargetResult } from "./router/results";
import { measureRounds, warmUp } from "./router/rounds";
import { seed } from "./router/seed";
import { orionRouterEnvironment, startSubgraphs, startTargets, type Target } from "./router/services";
import {
  CONNECTIONS,
  log,
  LOG_LEVEL,
  ROUNDS,
  SECONDS,
  SELECTED,
  TARGETS,
  WARMUP_SECONDS,
  WATCHDOG_MS,
} from "./router/settings";

/**
 * `npm run bench:router`: one run, loopback only, bounded (about 2.5 minutes). The same four
 * subgraphs (each in its own process, as containers run them, on the machine's PostgreSQL, Redis
 * and RabbitMQ with this run's own databases, key prefix and exchange) serve four targets:
 *   (a) ORION's router (`orion serve router`, everything on: safelist on, rate limiting on with
 *       budgets no client can exhaust),
 *   (b) a stock @apollo/gateway in @apollo/server,
 *   (c) Hive Gateway's runtime,
 *   (d) a single-process monolith with the same resolvers (no federation hop): the practical limit.
 * Each gets the same query mix (operations.ts) from the same closed-loop load generator
 * (load.ts), in alternating rounds so that drifting noise from other work on the machine spreads
 * over all of them; each round starts one target later (a b c d, b c d a, c d a b, ...) because the
 * whole machine is still warming up (JIT, PostgreSQL's caches) in the first rounds, and a fixed
 * order would always hand that to the same target. Writes bench/results/router.json and prints a
 * Markdown table (stdout); progress goes to stderr.
 *
 * Settings (environment): BENCH_SECONDS (5 per target per round), BENCH_ROUNDS (8: each of the
 * four targets leads twice; a multiple of the number of targets keeps the leads even),
 * BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (16), BENCH_TARGETS (a,b,c,d; `a64` adds ORION's
 * router with --max-semi-space-size=64), BENCH_LOG_LEVEL (info, the services' production default),
 * BENCH_ROUTER_ENV (JSON of extra variables for the ORION router), BENCH_KEEP_LOGS (keep the
 * services' logs after a successful run), BENCH_RESULTS_FILE (default bench/results/router.json), BENCH_CPU_PROFILE_DIR (write a V8 CPU
 * profile of every process there, for finding where the time goes; slows every process a little).
 *
 * The pieces: settings.ts (these variables, the targets), services.ts (starting the processes),
 * seed.ts and answers.ts (callers, and the checks before measuring), rounds.ts (the measured
 * rounds and their CPU accounting), results.ts (summary, goals, table).
 */

async function main(): Promise<number> {
  await requireRealServices();
  const runId = `rb${Date.now().toString(36)}`;
  const prefix = `bench:${runId}:`;
  const exchange = `orion.bench.${runId}`;
  const logDir = mkdtempSync(path.join(os.tmpdir(), "orion-bench-router-"));
  const abortCleanup = () => cleanUp(runId, prefix, exchange);
  onAbort.add(abortCleanup);
  const smtp = await startSmtp(); // for the welcome e-mails of the registrations
  let succeeded = false;
  try {
    log(`run ${runId}; service logs in ${logDir}`);
    const ports = await freePorts(SUBGRAPH_NAMES.length + SELECTED.length);
    const run: ServiceRun = {
      runId,
      prefix,
      exchange,
      keys: generateKeyMaterial(),
      ports: Object.fromEntries(SUBGRAPH_NAMES.map((name, i) => [name, ports[i]!])) as Record<
        SubgraphName,
        number
      >,
      smtpPort: smtp.port,
      logLevel: LOG_LEVEL,
    };
    const subgraphs = await startSubgraphs(run, logDir);
    const routerEnv = orionRouterEnvironment(run);
    const targets = await startTargets(run, SELECTED, ports.slice(SUBGRAPH_NAMES.length), routerEnv, logDir);

    // Seeded through another target when one runs (the stock gateway first): ORION's router is then
    // measured with caches it filled only during its own warm-up, like the others, and its
    // safelist need not admit the seeding operations.
    const seeder = ["b", "c", "d"].map((id) => targets.find((t) => t.id === id)).find(Boolean) ?? targets[0]!;
    const callers = await seed(seeder.url, runId, databaseUrl(runId, "auth"));
    const mismatches = await validate(targets, callers);
    const orion = targets.find((t) => t.id === "a");
    const edge = orion ? await edgeEvidence(orion.url, callers) : null;

    await warmUp(targets, callers);
    const collected = await measureRounds(targets, callers, {
      subgraphPids: subgraphs.map((child) => child.pid),
      postgresPrefix: databasePrefix(runId),
    });
    const results = summarizeTargets(targets, collected);
    const goals = evaluateGoals(results);
    const file = await writeResults({ targets, results, goals, mismatches, edge, routerEnv });
    process.stdout.write(
      `${render(results, goals, mismatches)}\nwritten to ${path.relative(PROJECT_ROOT, file)}\n`,
    );
    succeeded = results.every((r) => r.failed === 0);

    for (const target of targets) await target.child.stop();
    for (const child of subgraphs) await child.stop();
    return succeeded ? 0 : 1;
  } finally {
    const leftovers = await stopLeftovers();
    if (leftovers.length > 0) log(`left running and now stopped: ${leftovers.join("; ")}`);
    await within(smtp.close(), 10_000);
    const problems = await cleanUp(runId, prefix, exchange);
    onAbort.delete(abortCleanup);
    if (problems.length > 0) log(`cleanup problems: ${problems.join("; ")}`);
    if (succeeded && !process.env.BENCH_KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
    else log(`service logs kept in ${logDir}`);
  }
}

/** bench/results/router.json (or BENCH_RESULTS_FILE): the settings, the evidence and every target's result. */
async function writeResults(run: {
  targets: Target[];
  results: TargetResult[];
  goals: Goal[];
  mismatches: string[];
  edge: Awaited<ReturnType<typeof edgeEvidence>> | null;
  routerEnv: Record<string, string>;
}): Promise<string> {
  const { targets, results, goals, mismatches, edge, routerEnv } = run;
  const output = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "?",
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      loadAverageAtEnd: os.loadavg(),
    },
    settings: {
      secondsPerRound: SECONDS,
      rounds: ROUNDS,
      warmUpSeconds: WARMUP_SECONDS,
      connections: CONNECTIONS,
      callers: `${CONNECTIONS} USERs and ${CONNECTIONS} ADMINs, one of each per connection`,
      mix: MIX,
      operations: Object.fromEntries(Object.values(OPERATIONS).map((o) => [o.name, JSON.parse(o.body)])),
      nodeOptions: Object.fromEntries(targets.map((t) => [t.id, TARGETS[t.id].nodeOptions])),
      subgraphNodeOptions: CONTAINER_NODE_OPTIONS,
      logLevel: LOG_LEVEL,
      routerEnvironment: Object.fromEntries(
        Object.entries(routerEnv).filter(([name]) => !/PRIVATE_KEY|_URL$|PREFIX/.test(name)),
      ),
    },
    edgeOfA: edge,
    answersIdentical: mismatches.length === 0,
    mismatches,
    goals,
    targets: results,
  };
  const file = path.resolve(
    PROJECT_ROOT,
    process.env.BENCH_RESULTS_FILE ?? path.join("bench", "results", "router.json"),
  );
  mkdirSync(path.dirname(file), { recursive: true });
  // Formatted as the repository's Prettier settings want it, so `npm run check:format` stays green.
  writeFileSync(
    file,
    await format(JSON.stringify(output), { ...(await resolveConfig(file)), parser: "json" }),
  );
  return file;
}

runScript(main, { log, limitMs: WATCHDOG_MS });

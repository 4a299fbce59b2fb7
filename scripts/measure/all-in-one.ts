import { performance } from "node:perf_hooks";

import { cleanEnv, freePorts } from "../support/environment";
import { register, waitForConsumers, waitForReady, warmUp } from "../support/graphql-client";
import { type TreeMemory, treeMemory } from "../support/proc";
import { ServiceProcess, type StopResult } from "../support/processes";

/** Parts 1 and 2: `orion start` (embedded defaults) from spawn to a ready router, and its memory. */

export interface AllInOneRun {
  label: string;
  startMs: number;
  /** What the CLI itself prints ("ORION is ready in 4.2s"), measured from inside the process. */
  selfReported: string | null;
  ready: TreeMemory;
  afterWarmUp: TreeMemory;
  warmUp: { requests: number; failed: number; firstError: string | null; ms: number };
  stop: StopResult;
}

const READY_TIMEOUT_MS = 120_000;

export async function runAllInOne(
  label: string,
  dataDir: string,
  runId: string,
  log: (m: string) => void,
): Promise<AllInOneRun> {
  const [router, auth, user, notification, analytics] = (await freePorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const env = cleanEnv({
    ORION_DATA_DIR: dataDir,
    ROUTER_PORT: String(router),
    AUTH_PORT: String(auth),
    USER_PORT: String(user),
    NOTIFICATION_PORT: String(notification),
    ANALYTICS_PORT: String(analytics),
  });
  const routerBase = `http://127.0.0.1:${router}`;
  const routerUrl = `${routerBase}/graphql`;
  log(`${label}: spawning node dist/cli/main.js start (ORION_DATA_DIR=${dataDir}, router port ${router})`);
  const started = performance.now();
  const orion = new ServiceProcess(`orion start (${label})`, ["dist/cli/main.js", "start"], env);
  let stop: StopResult | null = null;
  try {
    await waitForReady(routerBase, READY_TIMEOUT_MS, () => orion.failure());
    const startMs = performance.now() - started;
    const selfReported = /ready in ([\d.]+s)/.exec(orion.output)?.[1] ?? null;
    log(`${label}: router ready after ${(startMs / 1000).toFixed(2)} s`);
    const ready = treeMemory(orion.pid);

    const signedIn = await register(routerUrl, `measure-${runId}-${label}@example.com`, `Measure ${label}`);
    await waitForConsumers(routerUrl, signedIn);
    const traffic = await warmUp(routerUrl, signedIn.token, 200);
    log(`${label}: warm-up done (${traffic.requests} requests, ${traffic.failed} failed, ${traffic.ms} ms)`);
    const afterWarmUp = treeMemory(orion.pid);
    stop = await orion.stop();
    return { label, startMs, selfReported, ready, afterWarmUp, warmUp: traffic, stop };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- last output of ${orion.label} ---\n${orion.tail()}`, { cause: error });
  } finally {
    if (!stop) {
      const result = await orion.stop();
      log(`${label}: stopped after failure: ${result.detail}`);
    }
  }
}

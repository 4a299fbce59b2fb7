import { performance } from "node:perf_hooks";

import { PORT_VARIABLES, type ServiceName, SUBGRAPH_NAMES } from "../../platform/config";
import { generateKeyMaterial } from "../../platform/identity/keys";
import {
  cleanEnv,
  CONTAINER_NODE_OPTIONS,
  freePorts,
  routerEnvironment,
  type ServiceRun,
  subgraphEnvironments,
} from "../support/environment";
import { register, waitForConsumers, waitForReady, warmUp } from "../support/graphql-client";
import { rssKiB } from "../support/proc";
import { ServiceProcess, type StopResult } from "../support/processes";
import { cleanUp } from "../support/run-cleanup";
import { startSmtp } from "../support/smtp-sink";
import { within } from "../support/timing";
import { onAbort } from "../support/watchdog";

/** Part 3: each service alone (`orion serve <name>`, what a container runs) on the real PostgreSQL, Redis and RabbitMQ. */

export interface ServiceMeasurement {
  name: ServiceName;
  readyMs: number;
  readyKiB: number;
  afterKiB: number;
  stop: StopResult | null;
}

export interface StandaloneResult {
  services: ServiceMeasurement[];
  warmUp: { requests: number; failed: number; firstError: string | null; ms: number };
  mailsReceived: number;
  cleanup: string[];
}

const ORDER: ServiceName[] = [...SUBGRAPH_NAMES, "router"];

export async function measureStandalone(runId: string, log: (m: string) => void): Promise<StandaloneResult> {
  const keys = generateKeyMaterial();
  const prefix = `measure:${runId}:`;
  const exchange = `orion.measure.${runId}`;
  const portList = await freePorts(6);
  const ports = Object.fromEntries(ORDER.map((name, i) => [name, portList[i]!])) as Record<
    ServiceName,
    number
  >;
  const smtp = await startSmtp(portList[5]!);
  const processes = new Map<ServiceName, ServiceProcess>();
  const measured = new Map<ServiceName, Partial<ServiceMeasurement>>();
  const stops = new Map<ServiceName, StopResult>();
  const urlOf = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
  // Filled in by the finally below; the returned object shares this array.
  const cleanup: string[] = [];
  const abortCleanup = () => cleanUp(runId, prefix, exchange);
  onAbort.add(abortCleanup);
  try {
    const run: ServiceRun = { runId, prefix, exchange, keys, ports, smtpPort: smtp.port, logLevel: "info" };
    const envs: Record<ServiceName, Record<string, string>> = {
      ...subgraphEnvironments(run),
      router: routerEnvironment(run),
    };
    // One at a time, so each start-up time is the service's own and not a share of two CPUs.
    for (const name of ORDER) {
      // The heap settings the containers run with: docker/Dockerfile's NODE_OPTIONS.
      const env = cleanEnv({
        ...envs[name],
        [PORT_VARIABLES[name]]: String(ports[name]),
        NODE_OPTIONS: CONTAINER_NODE_OPTIONS,
      });
      log(
        `standalone: spawning NODE_OPTIONS="${CONTAINER_NODE_OPTIONS}" node dist/cli/main.js serve ${name} (port ${ports[name]})`,
      );
      const started = performance.now();
      const service = new ServiceProcess(`orion serve ${name}`, ["dist/cli/main.js", "serve", name], env);
      processes.set(name, service);
      try {
        await waitForReady(urlOf(name), 60_000, () => service.failure());
      } catch (error) {
        throw new Error(
          `${error instanceof Error ? error.message : String(error)}\n--- last output ---\n${service.tail()}`,
          { cause: error },
        );
      }
      const readyMs = performance.now() - started;
      measured.set(name, { name, readyMs, readyKiB: rssOrThrow(service) });
      log(`standalone: ${name} ready after ${(readyMs / 1000).toFixed(2)} s`);
    }

    const routerUrl = `${urlOf("router")}/graphql`;
    const signedIn = await register(
      routerUrl,
      `measure-${runId}-standalone@example.com`,
      "Measure standalone",
    );
    await waitForConsumers(routerUrl, signedIn);
    const traffic = await warmUp(routerUrl, signedIn.token, 200);
    log(
      `standalone: warm-up done (${traffic.requests} requests, ${traffic.failed} failed, ${traffic.ms} ms)`,
    );
    for (const name of ORDER) measured.get(name)!.afterKiB = rssOrThrow(processes.get(name)!);
    // The welcome e-mail goes out after the inbox row is written; give it a moment to arrive.
    await within(
      (async () => {
        while (smtp.received() < 1) await new Promise((resolve) => setTimeout(resolve, 100));
      })(),
      5_000,
    );
    const mailsReceived = smtp.received();

    await stopAll(processes, stops);
    return {
      services: ORDER.map((name) => ({
        ...(measured.get(name) as ServiceMeasurement),
        stop: stops.get(name) ?? null,
      })),
      warmUp: traffic,
      mailsReceived,
      cleanup,
    };
  } finally {
    await stopAll(processes, stops);
    if (!(await within(smtp.close(), 10_000))) log("standalone: SMTP server did not close within 10 s");
    cleanup.push(...(await cleanUp(runId, prefix, exchange)));
    onAbort.delete(abortCleanup);
    log(`standalone: cleanup ${cleanup.length === 0 ? "complete" : `problems: ${cleanup.join("; ")}`}`);
  }
}

function rssOrThrow(service: ServiceProcess): number {
  const rss = rssKiB(service.pid);
  if (rss === null) throw new Error(service.failure() ?? `${service.label}: no VmRSS for pid ${service.pid}`);
  return rss;
}

/** Router first, so no request reaches a stopped subgraph; then the subgraphs together. */
async function stopAll(
  processes: Map<ServiceName, ServiceProcess>,
  stops: Map<ServiceName, StopResult>,
): Promise<void> {
  const stopOne = async (name: ServiceName) => {
    const service = processes.get(name);
    if (!service || stops.has(name)) return;
    stops.set(name, await service.stop());
  };
  await stopOne("router");
  await Promise.all(SUBGRAPH_NAMES.map(stopOne));
}

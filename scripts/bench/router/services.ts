import path from "node:path";

import { SUBGRAPH_NAMES } from "../../../platform/config";
import { VARIABLES } from "../../../subgraphs";
import {
  cleanEnv,
  CONTAINER_NODE_OPTIONS,
  routerEnvironment,
  type ServiceRun,
  subgraphEnvironments,
} from "../../support/environment";
import { post, waitUntil } from "../../support/graphql-client";
import { ServiceProcess } from "../../support/processes";
import { errorText, log, profiling, type TargetId, TARGETS } from "./settings";

/** The processes of one run: the four subgraphs, each on its own, and the targets in front of them. */

export interface Target {
  id: TargetId;
  label: string;
  url: string;
  child: ServiceProcess;
}

const isOrionRouter = (id: TargetId) => id === "a" || id === "a64";

/** Each subgraph as a container runs it (`orion serve <name>`, the image's NODE_OPTIONS), until ready. */
export async function startSubgraphs(run: ServiceRun, logDir: string): Promise<ServiceProcess[]> {
  log("starting the four subgraphs, each in its own process (`orion serve <name>`)");
  const envs = subgraphEnvironments(run);
  const subgraphs = SUBGRAPH_NAMES.map(
    (name) =>
      new ServiceProcess(
        name,
        [...profiling(name), "-r", "@swc-node/register", "cli/main.ts", "serve", name],
        cleanEnv({ ...envs[name], NODE_OPTIONS: CONTAINER_NODE_OPTIONS }),
        path.join(logDir, `${name}.log`),
      ),
  );
  await Promise.all(
    SUBGRAPH_NAMES.map((name, i) =>
      waitReady(`${name} /ready`, subgraphs[i]!, async () => {
        const response = await fetch(`http://127.0.0.1:${run.ports[name]}/ready`);
        await response.arrayBuffer();
        return response.status === 200;
      }),
    ),
  );
  return subgraphs;
}

/** ORION's router (a) with everything on, its port excepted. */
export function orionRouterEnvironment(run: ServiceRun): Record<string, string> {
  // Rate limiting stays on, with budgets no benchmark client can exhaust (every *_POINTS variable).
  const generousLimits = Object.fromEntries(
    Object.keys(VARIABLES)
      .filter((name) => /^RATE_LIMIT_.*_POINTS$/.test(name))
      .map((name) => [name, "1000000000"]),
  );
  return {
    ...routerEnvironment(run),
    // Everything on: the strictest mode too (only the repository's own operations run).
    OPERATION_SAFELIST: "true",
    ...generousLimits,
    ...(JSON.parse(process.env.BENCH_ROUTER_ENV ?? "{}") as Record<string, string>),
  };
}

/** Every selected target on its port (in the order of `ports`), until each answers. */
export async function startTargets(
  run: ServiceRun,
  ids: TargetId[],
  ports: number[],
  routerEnv: Record<string, string>,
  logDir: string,
): Promise<Target[]> {
  const subgraphEnvs = subgraphEnvironments(run);
  const comparisonEnv = {
    NODE_ENV: "production",
    IDENTITY_PRIVATE_KEY: run.keys.identityPrivateKey,
    BENCH_SUBGRAPH_URLS: JSON.stringify(
      Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, `http://127.0.0.1:${run.ports[name]}/graphql`])),
    ),
  };
  // The monolith opens every subgraph's database and dependencies itself.
  const monolithEnv = Object.assign({}, ...SUBGRAPH_NAMES.map((name) => subgraphEnvs[name])) as Record<
    string,
    string
  >;

  log(`starting the targets: ${ids.join(", ")}`);
  const targets = ids.map((id, i): Target => {
    const port = ports[i]!;
    const spec = TARGETS[id];
    const env = isOrionRouter(id)
      ? { ...routerEnv, ROUTER_PORT: String(port) }
      : id === "d"
        ? { ...monolithEnv, BENCH_PORT: String(port) }
        : { ...comparisonEnv, BENCH_PORT: String(port) };
    const child = new ServiceProcess(
      spec.label,
      [...profiling(`target-${id}`), "-r", "@swc-node/register", spec.script, ...(spec.args ?? [])],
      cleanEnv({ ...env, NODE_OPTIONS: spec.nodeOptions }),
      path.join(logDir, `target-${id}.log`),
    );
    return { id, label: spec.label, url: `http://127.0.0.1:${port}/graphql`, child };
  });
  await Promise.all(
    targets.map((target) =>
      isOrionRouter(target.id)
        ? // The safelist refuses `{ __typename }`: the router's own readiness says it has its supergraph.
          waitReady(`${target.label} /ready`, target.child, async () => {
            const response = await fetch(new URL("/ready", target.url));
            await response.arrayBuffer();
            return response.status === 200;
          })
        : waitReady(`${target.label} to answer { __typename }`, target.child, async () => {
            const response = await post<{ __typename: string }>(target.url, "{ __typename }");
            return response.data?.__typename === "Query";
          }),
    ),
  );
  return targets;
}

async function waitReady(what: string, child: ServiceProcess, probe: () => Promise<boolean>): Promise<void> {
  try {
    await waitUntil(what, 120_000, async () => ((await probe()) ? true : undefined), {
      intervalMs: 200,
      abort: () => child.failure(),
    });
  } catch (error) {
    throw new Error(`${errorText(error)}\n--- ${child.label}, last output ---\n${child.tail()}`, {
      cause: error,
    });
  }
  log(`${child.label} ready`);
}

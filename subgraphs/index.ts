import {
  type EnvOf,
  mergeCatalogues,
  parseVariables,
  PLATFORM_VARIABLES,
  ROUTER_VARIABLES,
  SERVICE_NAMES,
  type ServiceName,
  SUBGRAPH_NAMES,
  type SubgraphName,
} from "../platform/config";
import { type AnySubgraphDefinition, subgraphVariables } from "../platform/subgraph";
import { analyticsSubgraph } from "./analytics";
import { ANALYTICS_VARIABLES } from "./analytics/settings";
import { authSubgraph } from "./auth";
import { AUTH_VARIABLES, type AuthOverrides } from "./auth/settings";
import { notificationSubgraph } from "./notification";
import { NOTIFICATION_VARIABLES, type NotificationOverrides } from "./notification/settings";
import { userSubgraph } from "./user";
import { USER_VARIABLES } from "./user/settings";

/** Every subgraph, by name: the all-in-one process, the CLI and the schema pipeline iterate this. */
export const SUBGRAPHS: Record<SubgraphName, AnySubgraphDefinition> = {
  auth: authSubgraph,
  user: userSubgraph,
  notification: notificationSubgraph,
  analytics: analyticsSubgraph,
};

/** What the all-in-one process may set per subgraph beyond the environment (see each settings.ts). */
export interface SettingsOverrides {
  auth?: AuthOverrides;
  notification?: NotificationOverrides;
}

/**
 * Every environment variable ORION reads: the platform's, then each subgraph's own (declared in its
 * settings.ts). The configuration table (docs/configuration.md), the compose file and the Kubernetes manifests are
 * checked against this catalogue. A name declared twice throws here, at load.
 */
export const VARIABLES = mergeCatalogues(
  PLATFORM_VARIABLES,
  AUTH_VARIABLES,
  USER_VARIABLES,
  NOTIFICATION_VARIABLES,
  ANALYTICS_VARIABLES,
);
export type AnyVariableName = keyof typeof VARIABLES & string;

/** What each service reads when it runs alone (a container): the list compose and Kubernetes must satisfy. */
export const SERVICE_VARIABLES: Record<ServiceName, readonly AnyVariableName[]> = {
  router: ROUTER_VARIABLES,
  ...(Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, subgraphVariables(SUBGRAPHS[name])])) as Record<
    SubgraphName,
    AnyVariableName[]
  >),
};

// A subgraph whose settings.ts is not merged above would run, but its variables would escape the
// configuration table and the deployment checks: refuse to load instead.
for (const service of SERVICE_NAMES) {
  const undeclared = SERVICE_VARIABLES[service].filter((name) => !Object.hasOwn(VARIABLES, name));
  if (undeclared.length > 0)
    throw new Error(`${service} reads ${undeclared.join(", ")}, missing from subgraphs/index.ts VARIABLES`);
}

/** Parses any of ORION's variables (the platform's or a subgraph's), with one error listing every problem. */
export function parseConfig<N extends AnyVariableName>(
  names: readonly N[],
  env: NodeJS.ProcessEnv = process.env,
): EnvOf<typeof VARIABLES, N> {
  return parseVariables(VARIABLES, names, env);
}

/** Everything one service reads running alone. */
export function parseServiceEnv(service: ServiceName, env: NodeJS.ProcessEnv = process.env) {
  return parseConfig(SERVICE_VARIABLES[service], env);
}

/**
 * One subgraph's settings in the all-in-one process, built by its definition: `supplied` are values
 * the process already holds (generated keys, the test SMTP server...) and are not read from `env`;
 * the subgraph's other variables are.
 */
export function settingsOf<N extends SubgraphName>(
  name: N,
  supplied: Partial<Record<AnyVariableName, unknown>>,
  overrides?: SettingsOverrides[N & keyof SettingsOverrides],
  env: NodeJS.ProcessEnv = process.env,
): unknown {
  const definition = SUBGRAPHS[name];
  const names = [...definition.settings.platformVariables, ...Object.keys(definition.settings.variables)];
  const read = parseConfig(
    names.filter((variable): variable is AnyVariableName => !Object.hasOwn(supplied, variable)),
    env,
  );
  return definition.settings.fromEnv({ ...read, ...supplied }, overrides);
}

import { join } from "node:path";

import {
  DEFAULT_PORTS,
  isRequired,
  SERVICE_NAMES,
  type ServiceName,
  SUBGRAPH_NAMES,
} from "../../platform/config";
import { KEY_FILES as KEY_FILE_NAMES } from "../../platform/identity/keys";
import { type AnyVariableName, SERVICE_VARIABLES, VARIABLES } from "../../subgraphs";

/** Shared by the compose and Kubernetes tests: both are checked against the whole catalogue (subgraphs/index.ts). */

export const ROOT = join(__dirname, "..", "..");

/** What `node dist/cli/main.js keys generate --out <dir>` writes: the only key material deployments mount. */
export const KEY_FILES = Object.values(KEY_FILE_NAMES);

/** A container's environment: variable name -> its literal value, or undefined when a Secret supplies it. */
export type Env = Map<string, string | undefined>;

/** `serve <service>` or `migrate <subgraph>`: what an ORION container runs, read from its arguments. */
export interface Workload {
  verb: "serve" | "migrate";
  service: ServiceName;
}

export function parseWorkload(args: readonly unknown[] | undefined): Workload | undefined {
  const [verb, service] = args ?? [];
  if (verb === "serve" && SERVICE_NAMES.includes(service as ServiceName)) {
    return { verb, service: service as ServiceName };
  }
  if (verb === "migrate" && (SUBGRAPH_NAMES as readonly unknown[]).includes(service)) {
    return { verb, service: service as ServiceName };
  }
  return undefined;
}

const isVariable = (name: string): name is AnyVariableName => Object.hasOwn(VARIABLES, name);

/** The variable a name sets: `NAME_FILE` stands for `NAME` (platform/config/parse.ts reads the file). */
export const variableOf = (name: string): string => name.replace(/_FILE$/, "");

/** The port a service listens on inside its container: `<SERVICE>_PORT` when the environment sets it. */
export function servicePort(service: ServiceName, env: Env): number {
  const configured = env.get(`${service.toUpperCase()}_PORT`);
  return configured === undefined ? DEFAULT_PORTS[service] : Number(configured);
}

/**
 * Everything wrong with the environment a container running `service` is given: variables the service
 * does not read (typos, leftovers), required ones missing, both `NAME` and `NAME_FILE` set, literal values
 * its schema rejects, and `_FILE` paths that are not absolute.
 */
export function envProblems(service: ServiceName, env: Env): string[] {
  const reads: readonly string[] = SERVICE_VARIABLES[service];
  const problems: string[] = [];
  for (const [name, value] of env) {
    const variable = variableOf(name);
    if (!isVariable(variable)) {
      problems.push(`${name}: not a variable ORION reads (subgraphs/index.ts VARIABLES)`);
      continue;
    }
    if (!reads.includes(variable)) {
      problems.push(`${name}: ${service} does not read ${variable} (subgraphs/index.ts SERVICE_VARIABLES)`);
      continue;
    }
    if (name !== variable) {
      if (env.has(variable)) problems.push(`${name}: ${variable} is set too; the file would silently win`);
      if (value !== undefined && !value.startsWith("/"))
        problems.push(`${name}: ${value} is not an absolute path`);
    } else if (value !== undefined) {
      const parsed = VARIABLES[variable].schema.safeParse(value);
      if (!parsed.success)
        problems.push(`${name}=${value}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
    }
  }
  for (const variable of reads) {
    if (
      isRequired(VARIABLES[variable as AnyVariableName]) &&
      !env.has(variable) &&
      !env.has(`${variable}_FILE`)
    ) {
      problems.push(`${variable} (or ${variable}_FILE): required by ${service} and not set`);
    }
  }
  return problems;
}

/** The connection URLs in an environment (`*_URL` variables with a literal value). */
export function urlsIn(env: Env): Array<{ name: string; url: URL }> {
  return [...env]
    .filter((entry): entry is [string, string] => entry[0].endsWith("_URL") && entry[1] !== undefined)
    .map(([name, value]) => ({ name, url: new URL(value) }));
}

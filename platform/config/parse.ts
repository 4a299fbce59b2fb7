import { readFileSync } from "node:fs";

import { z } from "zod";

import { PLATFORM_VARIABLES, type PlatformEnv, type VariableName } from "./platform-variables";
import { ROUTER_VARIABLES, type RouterEnv } from "./service-variables";
import type { EnvOf, VariableCatalogue } from "./variable";

/** Reading the environment once, at start: every missing or malformed variable is reported in one error. */

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the named variables of a catalogue at once and throws one error listing every missing or malformed one. */
export function parseVariables<C extends VariableCatalogue, N extends keyof C & string>(
  catalogue: C,
  names: readonly N[],
  env: NodeJS.ProcessEnv = process.env,
  overrides: { optional?: readonly N[] } = {},
): EnvOf<C, N> {
  const shape: Record<string, z.ZodType> = {};
  for (const name of names) {
    const declaration = catalogue[name];
    if (!declaration) throw new Error(`${name} is not a declared variable`);
    shape[name] = overrides.optional?.includes(name) ? declaration.schema.optional() : declaration.schema;
  }
  const input: Record<string, string | undefined> = {};
  for (const name of names) input[name] = readVariable(name, env);
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        const missing = input[name] === undefined;
        return `${name}: ${missing ? "is required" : issue.message} (${catalogue[name]!.description})`;
      }),
    );
  }
  return result.data as EnvOf<C, N>;
}

/** Parses platform variables (a subgraph's own are parsed through subgraphs/index.ts or its definition). */
export function parseEnv<N extends VariableName>(
  names: readonly N[],
  env: NodeJS.ProcessEnv = process.env,
  overrides: { optional?: readonly N[] } = {},
): PlatformEnv<N> {
  return parseVariables(PLATFORM_VARIABLES, names, env, overrides);
}

/** `NAME_FILE` (a Docker/Kubernetes secret mounted as a file) stands in for `NAME`. */
function readVariable(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, "utf8");
    } catch {
      return `unreadable file ${file}`;
    }
  }
  const raw = env[name];
  return raw === "" ? undefined : raw;
}

export function parseRouterEnv(env: NodeJS.ProcessEnv = process.env): RouterEnv {
  return parseEnv(ROUTER_VARIABLES, env);
}

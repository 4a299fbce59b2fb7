import { existsSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

import { type Command, InvalidArgumentError } from "commander";

import { ConfigError, parseEnv } from "../platform/config";
import { createLogger } from "../platform/logger";
import type * as RedisStore from "../platform/store/redis-store";
import type * as UsageExport from "../router/usage/usage-export";

/* `orion schema usage export`: the usage the routers recorded in Redis (decision 011), as an
   orion-usage/1 file for `orion schema check --usage`. */

/* eslint-disable @typescript-eslint/no-require-imports -- loaded only by this command */
const loadRedisStore = () => require("../platform/store/redis-store") as typeof RedisStore;
const loadUsageExport = () => require("../router/usage/usage-export") as typeof UsageExport;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Large days take more than a router's 500 ms command budget to read; a one-shot export can wait. */
const EXPORT_COMMAND_TIMEOUT_MS = 30_000;

/**
 * Exit codes: 2 when the command cannot be right as typed or configured (an option, a variable, an
 * output folder that does not exist): running it again unchanged fails again. 1 when it was right
 * but could not be done (Redis unreachable or failing, the file not writable): the same command may
 * succeed later, so a CI job can tell "fix the job" from "retry". Either way one line on stderr.
 */
class UsageError extends Error {}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!;

function positiveDays(value: string): number {
  const days = Number(value);
  if (!Number.isSafeInteger(days) || days < 1)
    throw new InvalidArgumentError("must be a whole number of days ≥ 1");
  return days;
}

async function exportUsageFile(options: { out: string; days?: number }): Promise<string> {
  let env;
  try {
    env = parseEnv(["REDIS_URL", "REDIS_KEY_PREFIX", "USAGE_RETENTION_DAYS"]);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new UsageError(`invalid configuration: ${error.problems.join("; ")}`);
    throw error;
  }
  const out = path.resolve(options.out);
  const folder = path.dirname(out);
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new UsageError(`--out: folder ${folder} does not exist`);
  const days = options.days ?? env.USAGE_RETENTION_DAYS;
  const shown = new URL(env.REDIS_URL);
  if (shown.password) shown.password = "***";
  const { RedisKeyValueStore } = loadRedisStore();
  const store = await RedisKeyValueStore.connect({
    url: env.REDIS_URL,
    prefix: env.REDIS_KEY_PREFIX,
    logger: createLogger("orion", "silent"),
    commandTimeoutMs: EXPORT_COMMAND_TIMEOUT_MS,
    reconnect: false,
  }).catch((error: unknown) => {
    throw new Error(`cannot reach Redis at ${shown.toString()}: ${message(error)}`);
  });
  try {
    const { file, skipped } = await loadUsageExport()
      .exportUsage(store, { days })
      .catch((error: unknown) => {
        throw new Error(`cannot read usage from Redis at ${shown.toString()}: ${message(error)}`);
      });
    writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
    const uses = file.clients.reduce(
      (sum, client) => sum + Object.values(client.coordinates).reduce((n, c) => n + c.count, 0),
      0,
    );
    return [
      `${out}: ${file.from} to ${file.to}, ${file.clients.length} client(s), ${uses} coordinate use(s)`,
      ...(skipped > 0
        ? [
            `warning: ${skipped} field(s) under ${env.REDIS_KEY_PREFIX}usage:* were not the router's and were skipped`,
          ]
        : []),
    ].join("\n");
  } finally {
    await store.close();
  }
}

/** Adds `schema usage export` to the program, under its `schema` command (created when absent). */
export function addSchemaUsageCommands(program: Command): void {
  const schema =
    program.commands.find((command) => command.name() === "schema") ??
    program.command("schema").description("The supergraph's schema: checks, changelog, recorded usage");
  schema
    .command("usage")
    .description("Schema usage the routers record per client and coordinate (USAGE_RECORDING)")
    .command("export")
    .requiredOption("--out <file>", "where to write the orion-usage/1 JSON file")
    .option("--days <n>", "the last n UTC days, today included (default: USAGE_RETENTION_DAYS)", positiveDays)
    .description("Write the usage recorded in Redis (REDIS_URL, REDIS_KEY_PREFIX) as an orion-usage/1 file")
    // A mistyped command line is a usage error: exit 2 (help and --version stay 0).
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action((options: { out: string; days?: number }) =>
      exportUsageFile(options).then(
        (summary) => console.log(summary),
        (error: unknown) => {
          console.error(`error: ${message(error)}`);
          process.exit(error instanceof UsageError ? 2 : 1);
        },
      ),
    );
}

import "reflect-metadata";
// First: tracing (when an OTLP endpoint is configured) must hook modules before they are loaded.
import "./tracing-bootstrap";

import path from "node:path";

import { Command, InvalidArgumentError } from "commander";

import {
  DATABASE_VARIABLES,
  parseEnv,
  PORT_VARIABLES,
  SERVICE_NAMES,
  SUBGRAPH_NAMES,
  type SubgraphName,
} from "../platform/config";
import type * as Database from "../platform/database/database";
import type * as SubgraphSchema from "../platform/database/subgraph-schema";
import { generateKeyMaterial, writeKeyMaterial } from "../platform/identity/keys";
import { DEFAULT_KEPT_SIGNING_KEYS, rotateSigningKeyFile } from "../platform/identity/signing-keys";
import { onShutdown, runMain } from "../platform/lifecycle";
import { createLogger } from "../platform/logger";
import type * as Standalone from "../platform/standalone";
import type { AnySubgraphDefinition } from "../platform/subgraph";
import type * as RouterMain from "../router/main";
import type * as Subgraphs from "../subgraphs";
import type * as Seed from "../subgraphs/analytics/services/seed";
import { addEventCommands } from "./events.command";
import { addSchemaCommands } from "./schema.command";
import { addSchemaUsageCommands } from "./schema-usage.command";
import type * as Supergraph from "./supergraph";
import type { Infrastructure } from "./supergraph";

/* eslint-disable @typescript-eslint/no-require-imports -- modules are loaded per command: a
   container serving one subgraph never loads the other three, the gateway or embedded PostgreSQL,
   and the router's never loads the ORM, the migrations or the broker client (its memory). */
const loadSubgraph = (name: SubgraphName) =>
  (require(`../subgraphs/${name}`) as Record<string, AnySubgraphDefinition>)[`${name}Subgraph`]!;
const loadSupergraph = () => require("./supergraph") as typeof Supergraph;
/** The whole variable catalogue: the platform's and every subgraph's own (loads all four definitions). */
const loadCatalogue = () => require("../subgraphs") as typeof Subgraphs;
const loadRouter = () => require("../router/main") as typeof RouterMain;
const loadStandalone = () => require("../platform/standalone") as typeof Standalone;
const loadDatabase = () => ({
  ...(require("../platform/database/database") as typeof Database),
  ...(require("../platform/database/subgraph-schema") as typeof SubgraphSchema),
});
const loadSeed = () => require("../subgraphs/analytics/services/seed") as typeof Seed;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Embedded defaults unless any database URL is set; then every real service must be configured. */
function infrastructureFromEnv(): Infrastructure {
  const real = SUBGRAPH_NAMES.some(
    (name) => process.env[DATABASE_VARIABLES[name]] || process.env[`${DATABASE_VARIABLES[name]}_FILE`],
  );
  const { parseConfig } = loadCatalogue();
  if (!real) {
    const env = parseConfig(["ORION_DATA_DIR", "MAIL_FROM"]);
    return { kind: "embedded", dataDir: env.ORION_DATA_DIR, mailFrom: env.MAIL_FROM };
  }
  const env = parseConfig([
    ...Object.values(DATABASE_VARIABLES),
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "AMQP_URL",
    "AMQP_EXCHANGE",
    "IDENTITY_PRIVATE_KEY",
    "IDENTITY_PUBLIC_KEY",
    "AUTH_SIGNING_KEY",
    "AUTH_PASSWORD_PEPPER",
    "SMTP_URL",
    "MAIL_FROM",
  ]);
  return {
    kind: "services",
    databaseUrls: Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => [name, env[DATABASE_VARIABLES[name]]]),
    ) as Record<SubgraphName, string>,
    redis: { url: env.REDIS_URL, prefix: env.REDIS_KEY_PREFIX },
    amqp: { url: env.AMQP_URL, exchange: env.AMQP_EXCHANGE },
    keys: {
      identityPrivateKey: env.IDENTITY_PRIVATE_KEY,
      identityPublicKey: env.IDENTITY_PUBLIC_KEY,
      authSigningKey: env.AUTH_SIGNING_KEY,
      passwordPepper: env.AUTH_PASSWORD_PEPPER,
    },
    mail: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM },
  };
}

async function start(): Promise<void> {
  const started = Date.now();
  const env = parseEnv(["NODE_ENV", "LOG_LEVEL", "HOST", ...Object.values(PORT_VARIABLES), "CORS_ORIGINS"]);
  const infrastructure = infrastructureFromEnv();
  const { startSupergraph } = loadSupergraph();
  const supergraph = await startSupergraph({
    infrastructure,
    host: process.env.HOST ? env.HOST : "127.0.0.1",
    production: env.NODE_ENV === "production",
    logLevel: env.LOG_LEVEL,
    corsOrigins: env.CORS_ORIGINS,
    ports: Object.fromEntries(SERVICE_NAMES.map((service) => [service, env[PORT_VARIABLES[service]]])),
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const lines = [
    "",
    `  ORION is ready in ${seconds}s (${infrastructure.kind === "embedded" ? "embedded defaults" : "real services"})`,
    `  Router:  ${supergraph.routerUrl}`,
    `  Sandbox: open ${supergraph.routerUrl} in a browser`,
    ...(supergraph.mailOutbox ? [`  E-mail:  written to ${supergraph.mailOutbox}`] : []),
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  onShutdown(createLogger("orion"), supergraph.stop);
}

async function migrate(names: string[]): Promise<void> {
  const selected = (names.length > 0 ? names : SUBGRAPH_NAMES) as SubgraphName[];
  const unknown = selected.filter((name) => !SUBGRAPH_NAMES.includes(name));
  if (unknown.length > 0)
    throw new Error(`unknown subgraph ${unknown.join(", ")}; one of ${SUBGRAPH_NAMES.join(", ")}`);
  // Every database variable is checked before any migration runs: one error lists them all.
  const env = parseEnv(selected.map((name) => DATABASE_VARIABLES[name]));
  const { migrateDatabase, subgraphEntities, subgraphMigrations } = loadDatabase();
  for (const name of selected) {
    const definition = loadSubgraph(name);
    await migrateDatabase({
      url: env[DATABASE_VARIABLES[name]],
      entities: subgraphEntities(definition),
      migrations: subgraphMigrations(definition),
      logger: createLogger(name),
    });
    console.log(`${name}: migrations applied`);
  }
}

const program = new Command("orion").description("Operate the ORION supergraph");
program
  .command("start")
  .description(
    "Start the router and all four subgraphs in one process (embedded defaults unless *_DATABASE_URL are set)",
  )
  .action(() => runMain(start));
program
  .command("serve")
  .argument("<service>", "router, auth, user, notification or analytics")
  .description("Run one service alone, configured from the environment (what a container runs)")
  .action((service: string) =>
    runMain(async () => {
      if (service === "router") return loadRouter().runRouterFromEnv();
      if (!SUBGRAPH_NAMES.includes(service as SubgraphName)) throw new Error(`unknown service ${service}`);
      return loadStandalone().runSubgraphFromEnv(loadSubgraph(service as SubgraphName));
    }),
  );
program
  .command("migrate")
  .argument("[subgraphs...]", "which subgraphs (default: all four)")
  .description("Apply pending migrations to each subgraph's database (<NAME>_DATABASE_URL) and exit")
  .action((names: string[]) => runMain(() => migrate(names)));
const keys = program.command("keys").description("Key material");
keys
  .command("generate")
  .requiredOption("--out <dir>", "folder for identity-private.pem, identity-public.pem, auth-signing.pem")
  .description(
    "Generate the router's identity key pair and the auth signing key (files readable by the owner only)",
  )
  .action((options: { out: string }) =>
    runMain(async () => {
      writeKeyMaterial(path.resolve(options.out), generateKeyMaterial());
      console.log(`keys written to ${path.resolve(options.out)}`);
    }),
  );
keys
  .command("rotate")
  .requiredOption(
    "--dir <dir>",
    "folder holding auth-signing.pem (the embedded mode's is <ORION_DATA_DIR>/keys)",
  )
  .option(
    "--keep <n>",
    "how many keys the bundle keeps, the new one included (2: the previous key keeps verifying)",
    String(DEFAULT_KEPT_SIGNING_KEYS),
  )
  .description(
    "Add a new auth signing key to auth-signing.pem (it signs from the next start) and drop the oldest beyond --keep",
  )
  .action((options: { dir: string; keep: string }, command: Command) => {
    const keep = Number(options.keep);
    if (!Number.isInteger(keep) || keep < 1)
      command.error(`error: --keep must be a whole number ≥ 1, not ${options.keep}`);
    let result: ReturnType<typeof rotateSigningKeyFile>;
    try {
      result = rotateSigningKeyFile(path.resolve(options.dir), keep);
    } catch (error) {
      // An operator's mistake (no file, a malformed bundle): the message, not a stack trace.
      command.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    }
    const lines = [
      `${result.file} rotated: ${result.keys.length} key(s), oldest first; the newest signs.`,
      `  new signing key:  kid ${result.added}`,
      ...(result.removed.length > 0 ? [`  removed:          kid ${result.removed.join(", kid ")}`] : []),
      "",
      "Next:",
      "  1. Roll the new file out to the auth subgraph and restart it (docs/key-rotation.md): `orion start`:",
      "     restart it; compose: `docker compose -f docker/compose.yaml up -d --force-recreate auth`;",
      "     Kubernetes: update the orion-keys Secret, then `kubectl rollout restart deployment/auth`.",
      keep >= 2
        ? "  2. Access tokens signed by the previous key keep verifying: it stays in the JWKS."
        : "  2. WARNING: --keep 1 dropped the previous key: access tokens it signed are refused from the restart on.",
      // The CLI does not load the auth subgraph's code for this; test/cli checks it matches ACCESS_TOKEN_TTL_SECONDS.
      "  3. Wait at least 15 minutes (the access-token lifetime) after the rollout before rotating again:",
      ...(result.keys.length >= keep
        ? [
            `     the next rotation drops kid ${result.keys[0]!.kid}, and every token it signed must have expired by then.`,
          ]
        : []),
    ];
    console.log(lines.join("\n"));
  });

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1)
    throw new InvalidArgumentError("must be a positive integer");
  return number;
}

const analytics = program.command("analytics").description("The analytics subgraph's data");
analytics
  .command("seed")
  .requiredOption(
    "--events <n>",
    "events to add, one registration per synthetic user included",
    positiveInteger,
  )
  .option("--users <n>", "synthetic users (default: events / 100)", positiveInteger)
  .option("--days <n>", "registrations spread over the last n days (default 180)", positiveInteger)
  .option("--seed <x>", "random seed between -1 and 1, for the same data again (default 0.42)", Number)
  .description(
    "Load synthetic usage into ANALYTICS_DATABASE_URL, rollups included (for benchmarks and demos)",
  )
  .action((options: { events: number; users?: number; days?: number; seed?: number }) =>
    runMain(async () => {
      const { ANALYTICS_DATABASE_URL: url } = parseEnv(["ANALYTICS_DATABASE_URL"]);
      const definition = loadSubgraph("analytics");
      const { openDatabase, subgraphEntities, subgraphMigrations } = loadDatabase();
      const db = await openDatabase({
        url,
        entities: subgraphEntities(definition),
        migrations: subgraphMigrations(definition),
        logger: createLogger("orion", "warn"),
        contextName: "analytics",
      });
      try {
        const started = performance.now();
        const seeded = await loadSeed().seedEvents(db.orm.em.fork(), options);
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `seeded ${seeded.events} events for ${seeded.users} users in ${seconds.toFixed(1)} s (${Math.round(seeded.events / seconds)} events/s)`,
        );
      } finally {
        await db.close();
      }
    }),
  );

addEventCommands(program);
addSchemaCommands(program);
addSchemaUsageCommands(program);

program.parse();

import "reflect-metadata";
import path from "node:path";
import { Command } from "commander";
import {
  DATABASE_VARIABLES,
  parseEnv,
  parseServiceEnv,
  PORT_VARIABLES,
  SERVICE_NAMES,
  SUBGRAPH_NAMES,
  type SubgraphName,
} from "../platform/config";
import { migrateDatabase } from "../platform/database/database";
import { generateKeyMaterial, writeKeyMaterial } from "../platform/identity/keys";
import { createLogger } from "../platform/logger";
import { onShutdown, runMain, runSubgraphFromEnv } from "../platform/standalone";
import type { AnySubgraphDefinition } from "../platform/subgraph";
import type * as RouterMain from "../router/main";
import type * as Supergraph from "./supergraph";
import type { Infrastructure } from "./supergraph";

/* eslint-disable @typescript-eslint/no-require-imports -- modules are loaded per command: a
   container serving one subgraph never loads the other three, the gateway or embedded PostgreSQL. */
const loadSubgraph = (name: SubgraphName) =>
  (require(`../subgraphs/${name}`) as Record<string, AnySubgraphDefinition>)[`${name}Subgraph`]!;
const loadSupergraph = () => require("./supergraph") as typeof Supergraph;
const loadRouter = () => require("../router/main") as typeof RouterMain;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Embedded defaults unless any database URL is set; then every real service must be configured. */
function infrastructureFromEnv(): Infrastructure {
  const real = SUBGRAPH_NAMES.some(
    (name) => process.env[DATABASE_VARIABLES[name]] || process.env[`${DATABASE_VARIABLES[name]}_FILE`],
  );
  if (!real) return { kind: "embedded", dataDir: parseEnv(["ORION_DATA_DIR"]).ORION_DATA_DIR };
  const env = parseEnv([
    ...Object.values(DATABASE_VARIABLES),
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "AMQP_URL",
    "AMQP_EXCHANGE",
    "IDENTITY_PRIVATE_KEY",
    "IDENTITY_PUBLIC_KEY",
    "AUTH_SIGNING_KEY",
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
  for (const name of selected) {
    const definition = loadSubgraph(name);
    await migrateDatabase({
      url: env[DATABASE_VARIABLES[name]],
      entities: definition.entities,
      migrations: definition.migrations,
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
      parseServiceEnv(service as SubgraphName);
      return runSubgraphFromEnv(loadSubgraph(service as SubgraphName));
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

program.parse();

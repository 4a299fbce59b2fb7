import { readFileSync } from "node:fs";
import { connect } from "node:net";
import path from "node:path";

import { DATABASE_VARIABLES, PORT_VARIABLES, SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { freePort } from "../../platform/database/embedded-postgres";
import type { KeyMaterial } from "../../platform/identity/keys";
import { PROJECT_ROOT } from "../../platform/paths";
import { VARIABLES } from "../../subgraphs";

/** The machine's PostgreSQL (trust auth), Redis and RabbitMQ on their standard local ports. */
export const REAL = {
  postgres: "postgres://postgres@127.0.0.1:5432",
  redis: "redis://127.0.0.1:6379",
  amqp: "amqp://guest:guest@127.0.0.1:5672",
};

/** A run's own database for each subgraph, all under one prefix (run-cleanup.ts checks it). */
export const databasePrefix = (runId: string) => `orion_measure_${runId}_`;
export const databaseName = (runId: string, name: SubgraphName) => `${databasePrefix(runId)}${name}`;
export const databaseUrl = (runId: string, name: SubgraphName) =>
  `${REAL.postgres}/${databaseName(runId, name)}`;

/** The NODE_OPTIONS the image sets, read from docker/Dockerfile so the two cannot drift apart. */
export const CONTAINER_NODE_OPTIONS =
  /^ENV NODE_OPTIONS=(.+)$/m.exec(
    readFileSync(path.join(PROJECT_ROOT, "docker", "Dockerfile"), "utf8"),
  )?.[1] ?? "";

/** This shell's environment without any ORION variable, so only what a measurement sets is seen. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(VARIABLES)) {
    delete env[name];
    delete env[`${name}_FILE`];
  }
  return { ...env, ...extra };
}

/** Distinct free ports (freePort can hand out the same port twice if asked quickly enough). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count; attempt++) {
    if (attempt > count * 10) throw new Error("could not find enough free ports");
    ports.add(await freePort());
  }
  return [...ports];
}

/** Fails, naming each one, when a real service is not listening. */
export async function requireRealServices(): Promise<void> {
  const missing: string[] = [];
  for (const [name, url] of Object.entries(REAL)) {
    const { hostname, port } = new URL(url);
    const reachable = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.setTimeout(2000);
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
      socket.once("timeout", () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (!reachable) missing.push(`${name} (${hostname}:${port})`);
  }
  if (missing.length > 0)
    throw new Error(
      `not reachable: ${missing.join(", ")}; run PostgreSQL (trust auth for user postgres), Redis and RabbitMQ (guest/guest) on their standard local ports`,
    );
}

/** One run of the services as containers run them, on loopback and the real PostgreSQL, Redis and RabbitMQ. */
export interface ServiceRun {
  runId: string;
  /** This run's Redis key prefix and RabbitMQ exchange, so that it shares nothing with other work. */
  prefix: string;
  exchange: string;
  keys: KeyMaterial;
  ports: Readonly<Record<SubgraphName, number>>;
  /** The SMTP server the notification subgraph sends to. */
  smtpPort: number;
  logLevel: string;
}

function commonEnvironment(run: ServiceRun): Record<string, string> {
  return { NODE_ENV: "production", LOG_LEVEL: run.logLevel, HOST: "127.0.0.1" };
}

const subgraphUrl = (run: ServiceRun, name: SubgraphName) => `http://127.0.0.1:${run.ports[name]}/graphql`;

/** Each subgraph's variables: its own database (of this run), port and secrets, the run's Redis and RabbitMQ. */
export function subgraphEnvironments(run: ServiceRun): Record<SubgraphName, Record<string, string>> {
  const envs: Record<SubgraphName, Record<string, string>> = {
    auth: { AUTH_SIGNING_KEY: run.keys.authSigningKey, AUTH_PASSWORD_PEPPER: run.keys.passwordPepper },
    user: {},
    notification: { SMTP_URL: `smtp://127.0.0.1:${run.smtpPort}` },
    analytics: {},
  };
  for (const name of SUBGRAPH_NAMES) {
    Object.assign(envs[name], commonEnvironment(run), {
      REDIS_URL: REAL.redis,
      REDIS_KEY_PREFIX: run.prefix,
      AMQP_URL: REAL.amqp,
      AMQP_EXCHANGE: run.exchange,
      IDENTITY_PUBLIC_KEY: run.keys.identityPublicKey,
      [DATABASE_VARIABLES[name]]: databaseUrl(run.runId, name),
      [PORT_VARIABLES[name]]: String(run.ports[name]),
    });
  }
  return envs;
}

/** The router's variables (its port excepted): the run's subgraphs, Redis and identity key. */
export function routerEnvironment(run: ServiceRun): Record<string, string> {
  return {
    ...commonEnvironment(run),
    // Sessions and API keys are checked in Redis on every credentialed request (issue 3).
    REDIS_URL: REAL.redis,
    REDIS_KEY_PREFIX: run.prefix,
    IDENTITY_PRIVATE_KEY: run.keys.identityPrivateKey,
    AUTH_URL: subgraphUrl(run, "auth"),
    USER_URL: subgraphUrl(run, "user"),
    NOTIFICATION_URL: subgraphUrl(run, "notification"),
    ANALYTICS_URL: subgraphUrl(run, "analytics"),
    AUTH_JWKS_URL: `http://127.0.0.1:${run.ports.auth}/.well-known/jwks.json`,
  };
}

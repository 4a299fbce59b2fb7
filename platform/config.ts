import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * Every environment variable ORION reads, in one catalogue. Services pick the ones they need;
 * the README's configuration table, the compose file and the Kubernetes manifests are checked
 * against this list by tests, so a renamed variable cannot drift silently.
 */

export const SUBGRAPH_NAMES = ["auth", "user", "notification", "analytics"] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];
export type ServiceName = "router" | SubgraphName;
export const SERVICE_NAMES: readonly ServiceName[] = ["router", ...SUBGRAPH_NAMES];

export const DEFAULT_PORTS: Record<ServiceName, number> = {
  router: 3000,
  auth: 3001,
  user: 3002,
  notification: 3003,
  analytics: 3004,
};

/** The variable naming each service's port, and each subgraph's database: one spelling, used everywhere. */
export const PORT_VARIABLES = {
  router: "ROUTER_PORT",
  auth: "AUTH_PORT",
  user: "USER_PORT",
  notification: "NOTIFICATION_PORT",
  analytics: "ANALYTICS_PORT",
} as const satisfies Record<ServiceName, string>;
export const DATABASE_VARIABLES = {
  auth: "AUTH_DATABASE_URL",
  user: "USER_DATABASE_URL",
  notification: "NOTIFICATION_DATABASE_URL",
  analytics: "ANALYTICS_DATABASE_URL",
} as const satisfies Record<SubgraphName, string>;

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const url = (protocols: string[]) =>
  z.url({ protocol: new RegExp(`^(${protocols.join("|")})$`), error: `must be a ${protocols[0]} URL` });
const pem = (kind: string) =>
  z
    .string()
    .transform((value) => value.replace(/\\n/g, "\n").trim())
    .refine((value) => value.startsWith("-----BEGIN ") && value.includes(kind), {
      error: `must be a PEM-encoded ${kind}`,
    });
const csv = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean),
  );

interface Variable<S extends z.ZodType = z.ZodType> {
  schema: S;
  description: string;
}
const variable = <S extends z.ZodType>(schema: S, description: string): Variable<S> => ({
  schema,
  description,
});

export const VARIABLES = {
  NODE_ENV: variable(
    z.enum(["development", "production", "test"]).default("development"),
    "`production` disables Sandbox and introspection",
  ),
  LOG_LEVEL: variable(
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    "pino log level",
  ),
  HOST: variable(
    z.string().min(1).default("0.0.0.0"),
    "interface every service listens on (`orion start`: 127.0.0.1 unless set)",
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: variable(
    url(["http", "https"]).optional(),
    "OpenTelemetry collector (OTLP/HTTP, traces at /v1/traces); unset: tracing off, nothing loaded. The SDK's other OTEL_* variables apply",
  ),
  ROUTER_PORT: variable(port(DEFAULT_PORTS.router), "router HTTP port"),
  AUTH_PORT: variable(port(DEFAULT_PORTS.auth), "auth subgraph HTTP port"),
  USER_PORT: variable(port(DEFAULT_PORTS.user), "user subgraph HTTP port"),
  NOTIFICATION_PORT: variable(port(DEFAULT_PORTS.notification), "notification subgraph HTTP port"),
  ANALYTICS_PORT: variable(port(DEFAULT_PORTS.analytics), "analytics subgraph HTTP port"),
  AUTH_DATABASE_URL: variable(url(["postgres", "postgresql"]), "auth subgraph's PostgreSQL database"),
  USER_DATABASE_URL: variable(url(["postgres", "postgresql"]), "user subgraph's PostgreSQL database"),
  NOTIFICATION_DATABASE_URL: variable(
    url(["postgres", "postgresql"]),
    "notification subgraph's PostgreSQL database",
  ),
  ANALYTICS_DATABASE_URL: variable(
    url(["postgres", "postgresql"]),
    "analytics subgraph's PostgreSQL database",
  ),
  REDIS_URL: variable(url(["redis", "rediss"]), "Redis for sessions, refresh tokens, counters and caches"),
  REDIS_KEY_PREFIX: variable(z.string().default("orion:"), "prefix of every Redis key (one per deployment)"),
  AMQP_URL: variable(url(["amqp", "amqps"]), "RabbitMQ for cross-domain events"),
  AMQP_EXCHANGE: variable(z.string().min(1).default("orion.events"), "durable topic exchange of all events"),
  IDENTITY_PRIVATE_KEY: variable(
    pem("PRIVATE KEY"),
    "router: Ed25519 PKCS#8 key that signs the identity assertion sent to subgraphs",
  ),
  IDENTITY_PUBLIC_KEY: variable(
    pem("PUBLIC KEY"),
    "subgraphs: Ed25519 SPKI key that verifies the router's identity assertion",
  ),
  AUTH_SIGNING_KEY: variable(
    pem("PRIVATE KEY"),
    "auth: RSA PKCS#8 keys (PEM blocks, oldest first); the last signs access tokens (RS256), all verify",
  ),
  AUTH_PASSWORD_PEPPER: variable(
    z
      .string()
      .trim()
      .refine((value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, "base64").length >= 32, {
        error: "must be at least 32 random bytes, base64-encoded",
      }),
    "auth: server-side pepper (HMAC-SHA-256 key applied to passwords before bcrypt)",
  ),
  AUTH_SESSION_IDLE_TIMEOUT: variable(
    z.coerce
      .number()
      .int()
      .min(60)
      .default(14 * 24 * 3600),
    "auth: seconds a session may go unused (no refresh) before it ends",
  ),
  AUTH_SESSION_LIFETIME: variable(
    z.coerce
      .number()
      .int()
      .min(60)
      .default(30 * 24 * 3600),
    "auth: seconds after sign-in when a session ends however active it is",
  ),
  AUTH_ADMIN_EMAILS: variable(
    csv,
    "auth: addresses made ADMIN once they verify their e-mail (bootstraps the first ADMIN)",
  ),
  PUBLIC_APP_URL: variable(
    url(["http", "https"]).default("http://localhost:3000"),
    "notification: base URL of the links in e-mails (password reset, e-mail verification)",
  ),
  JWT_ISSUER: variable(z.string().min(1).default("orion-auth"), "`iss` of access tokens"),
  JWT_AUDIENCE: variable(z.string().min(1).default("orion"), "`aud` of access tokens"),
  AUTH_JWKS_URL: variable(
    url(["http", "https"]).optional(),
    "router: JWKS of the auth subgraph (default: AUTH_URL's origin)",
  ),
  AUTH_URL: variable(
    url(["http", "https"]).optional(),
    "router: auth subgraph GraphQL URL (default: the supergraph's)",
  ),
  USER_URL: variable(url(["http", "https"]).optional(), "router: user subgraph GraphQL URL"),
  NOTIFICATION_URL: variable(url(["http", "https"]).optional(), "router: notification subgraph GraphQL URL"),
  ANALYTICS_URL: variable(url(["http", "https"]).optional(), "router: analytics subgraph GraphQL URL"),
  SUPERGRAPH_PATH: variable(
    z.string().min(1).optional(),
    "router: supergraph SDL (default: schema/supergraph.graphql)",
  ),
  SUPERGRAPH_POLL_INTERVAL_MS: variable(
    z.coerce.number().int().min(0).default(1000),
    "router: how often the supergraph file is checked; a valid change is applied without restart (0: never)",
  ),
  SUBGRAPH_TIMEOUT_MS: variable(
    z.coerce.number().int().min(1).default(10_000),
    "router: longest wait for one subgraph fetch; past it that subgraph's fields become errors",
  ),
  SUBGRAPH_BREAKER_COOLDOWN_MS: variable(
    z.coerce.number().int().min(1).default(10_000),
    "router: how long a failing subgraph's open circuit answers at once, before one probe call",
  ),
  DRAIN_TIMEOUT_MS: variable(
    z.coerce.number().int().min(0).default(10_000),
    "router: on SIGTERM, longest wait for in-flight requests before their connections are cut",
  ),
  CORS_ORIGINS: variable(csv, "router: comma-separated origins allowed by CORS"),
  TRUSTED_PROXIES: variable(
    z
      .string()
      .default("loopback")
      .transform((value) =>
        value
          .split(",")
          .map((part) => part.trim())
          .filter(Boolean),
      ),
    "router: proxies whose X-Forwarded-For is believed (Express `trust proxy`: loopback, linklocal, uniquelocal, CIDRs)",
  ),
  BODY_LIMIT: variable(
    z
      .string()
      .regex(/^\d+(b|kb|mb)$/, "must look like 100kb")
      .default("100kb"),
    "largest request body",
  ),
  ROUTER_BATCH_LIMIT: variable(
    z.coerce.number().int().min(0).max(100).default(0),
    "router: most operations in one batched (JSON array) request; 0 turns batching off",
  ),
  RATE_LIMIT_WINDOW: variable(
    z.coerce.number().int().min(1).default(60),
    "router: seconds of one rate-limit window (every budget below is per window)",
  ),
  RATE_LIMIT_ANONYMOUS_POINTS: variable(
    z.coerce.number().int().min(1).default(300),
    "router: points per window for each anonymous client address (an IPv6 /64 counts as one)",
  ),
  RATE_LIMIT_USER_POINTS: variable(
    z.coerce.number().int().min(1).default(1200),
    "router: points per window for each signed-in user (all their sessions together)",
  ),
  RATE_LIMIT_API_KEY_POINTS: variable(
    z.coerce.number().int().min(1).default(3000),
    "router: points per window for each API key",
  ),
  RATE_LIMIT_QUERY_COST: variable(z.coerce.number().int().min(1).default(1), "router: points a query costs"),
  RATE_LIMIT_MUTATION_COST: variable(
    z.coerce.number().int().min(1).default(5),
    "router: points a mutation costs",
  ),
  RATE_LIMIT_REFUSAL_COST: variable(
    z.coerce.number().int().min(1).default(3),
    "router: points a refused request costs once its body was read (unparsable, invalid, oversized, unknown hash...)",
  ),
  OPERATION_SAFELIST: variable(
    z.stringbool().default(false),
    "router: `true` runs only the operations in schema/generated/persisted-documents.json",
  ),
  PERSISTED_QUERIES_TTL: variable(
    z.coerce
      .number()
      .int()
      .min(60)
      .default(24 * 3600),
    "router: seconds an automatic persisted query (APQ) stays registered in Redis",
  ),
  SMTP_URL: variable(url(["smtp", "smtps"]), "notification: SMTP server for e-mail"),
  MAIL_FROM: variable(
    z.string().min(3).default("ORION <no-reply@orion.local>"),
    "notification: sender address",
  ),
  SMS_WEBHOOK_URL: variable(
    url(["http", "https"]).optional(),
    "notification: endpoint SMS deliveries are POSTed to (JSON with the userId; unset: SMS waits PENDING)",
  ),
  PUSH_WEBHOOK_URL: variable(
    url(["http", "https"]).optional(),
    "notification: endpoint push deliveries are POSTed to (JSON with the userId; unset: push waits PENDING)",
  ),
  WEBHOOK_SIGNING_SECRET: variable(
    z.string().min(16).optional(),
    "notification: HMAC-SHA256 key of the x-orion-signature header on webhooks (unset: unsigned)",
  ),
  ANALYTICS_RETENTION_DAYS: variable(
    z.coerce.number().int().min(1).max(3650).default(180),
    "analytics: raw events older than this many days are deleted hourly (rollups and insights keep their counts)",
  ),
  ORION_DATA_DIR: variable(
    z.string().min(1).default(".orion"),
    "embedded mode: where the local cluster, keys and mail live",
  ),
} satisfies Record<string, Variable>;
PORT_VARIABLES satisfies Record<ServiceName, VariableName>;
DATABASE_VARIABLES satisfies Record<SubgraphName, VariableName>;

export type VariableName = keyof typeof VARIABLES;
type Picked<N extends VariableName> = { [K in N]: z.output<(typeof VARIABLES)[K]["schema"]> };

/** The variables that configure the router's rate limiting (router/rate-limit.ts reads them). */
export const RATE_LIMIT_VARIABLES = [
  "RATE_LIMIT_WINDOW",
  "RATE_LIMIT_ANONYMOUS_POINTS",
  "RATE_LIMIT_USER_POINTS",
  "RATE_LIMIT_API_KEY_POINTS",
  "RATE_LIMIT_QUERY_COST",
  "RATE_LIMIT_MUTATION_COST",
  "RATE_LIMIT_REFUSAL_COST",
] as const satisfies readonly VariableName[];

const COMMON = [
  "NODE_ENV",
  "LOG_LEVEL",
  "HOST",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
] as const satisfies readonly VariableName[];
const SUBGRAPH_COMMON = [
  ...COMMON,
  "REDIS_URL",
  "REDIS_KEY_PREFIX",
  "AMQP_URL",
  "AMQP_EXCHANGE",
  "IDENTITY_PUBLIC_KEY",
] as const;

/** What each service reads when it runs alone (a container): the list compose and Kubernetes must satisfy. */
export const SERVICE_VARIABLES = {
  router: [
    ...COMMON,
    PORT_VARIABLES.router,
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "IDENTITY_PRIVATE_KEY",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "AUTH_JWKS_URL",
    "AUTH_URL",
    "USER_URL",
    "NOTIFICATION_URL",
    "ANALYTICS_URL",
    "SUPERGRAPH_PATH",
    "SUPERGRAPH_POLL_INTERVAL_MS",
    "SUBGRAPH_TIMEOUT_MS",
    "SUBGRAPH_BREAKER_COOLDOWN_MS",
    "DRAIN_TIMEOUT_MS",
    "CORS_ORIGINS",
    "TRUSTED_PROXIES",
    "BODY_LIMIT",
    "ROUTER_BATCH_LIMIT",
    "OPERATION_SAFELIST",
    "PERSISTED_QUERIES_TTL",
    ...RATE_LIMIT_VARIABLES,
  ],
  auth: [
    ...SUBGRAPH_COMMON,
    PORT_VARIABLES.auth,
    DATABASE_VARIABLES.auth,
    "AUTH_SIGNING_KEY",
    "AUTH_PASSWORD_PEPPER",
    "AUTH_SESSION_IDLE_TIMEOUT",
    "AUTH_SESSION_LIFETIME",
    "AUTH_ADMIN_EMAILS",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
  ],
  user: [...SUBGRAPH_COMMON, PORT_VARIABLES.user, DATABASE_VARIABLES.user],
  notification: [
    ...SUBGRAPH_COMMON,
    PORT_VARIABLES.notification,
    DATABASE_VARIABLES.notification,
    "SMTP_URL",
    "MAIL_FROM",
    "PUBLIC_APP_URL",
    "SMS_WEBHOOK_URL",
    "PUSH_WEBHOOK_URL",
    "WEBHOOK_SIGNING_SECRET",
  ],
  analytics: [
    ...SUBGRAPH_COMMON,
    PORT_VARIABLES.analytics,
    DATABASE_VARIABLES.analytics,
    "ANALYTICS_RETENTION_DAYS",
  ],
} as const satisfies Record<ServiceName, readonly VariableName[]>;

export type ServiceEnv<S extends ServiceName> = Picked<(typeof SERVICE_VARIABLES)[S][number]>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the named variables at once and throws one error that lists every missing or malformed one. */
export function parseEnv<N extends VariableName>(
  names: readonly N[],
  env: NodeJS.ProcessEnv = process.env,
  overrides: { optional?: readonly N[] } = {},
): Picked<N> {
  const shape: Record<string, z.ZodType> = {};
  for (const name of names) {
    const schema = VARIABLES[name].schema as z.ZodType;
    shape[name] = overrides.optional?.includes(name) ? schema.optional() : schema;
  }
  const input: Record<string, string | undefined> = {};
  for (const name of names) input[name] = readVariable(name, env);
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        const missing = input[name] === undefined;
        return `${name}: ${missing ? "is required" : issue.message} (${VARIABLES[name as VariableName].description})`;
      }),
    );
  }
  return result.data as Picked<N>;
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

export function parseServiceEnv<S extends ServiceName>(
  service: S,
  env: NodeJS.ProcessEnv = process.env,
): ServiceEnv<S> {
  return parseEnv(SERVICE_VARIABLES[service], env) as ServiceEnv<S>;
}

/** True when the variable must be set (it has neither a default nor an optional marker). */
export function isRequired(name: VariableName): boolean {
  return !VARIABLES[name].schema.safeParse(undefined).success;
}

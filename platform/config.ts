import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * The environment variables every service shares (and the router's own), declared once with their
 * validation. A subgraph declares the variables only it reads in its own `settings.ts`;
 * subgraphs/index.ts merges both into the whole catalogue that the README's configuration table, the
 * compose file and the Kubernetes manifests are checked against, so a renamed variable cannot drift
 * silently. platform/ never imports subgraphs/: it only knows the shape of a subgraph's declarations.
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

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const url = (protocols: string[]) =>
  z.url({ protocol: new RegExp(`^(${protocols.join("|")})$`), error: `must be a ${protocols[0]} URL` });
export const pem = (kind: string) =>
  z
    .string()
    .transform((value) => value.replace(/\\n/g, "\n").trim())
    .refine((value) => value.startsWith("-----BEGIN ") && value.includes(kind), {
      error: `must be a PEM-encoded ${kind}`,
    });
export const csv = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean),
  );

export interface Variable<S extends z.ZodType = z.ZodType> {
  schema: S;
  description: string;
}
/** Variables by name: the platform's, one subgraph's, or all of them merged. */
export type VariableCatalogue = Record<string, Variable>;
/** The parsed values of a catalogue's variables (or of the names `N` among them). */
export type EnvOf<C extends VariableCatalogue, N extends keyof C = keyof C> = {
  [K in N]: z.output<C[K]["schema"]>;
};
export const variable = <S extends z.ZodType>(schema: S, description: string): Variable<S> => ({
  schema,
  description,
});

export const PLATFORM_VARIABLES = {
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
  ORION_DATA_DIR: variable(
    z.string().min(1).default(".orion"),
    "embedded mode: where the local cluster, keys and mail live",
  ),
} satisfies VariableCatalogue;
PORT_VARIABLES satisfies Record<ServiceName, VariableName>;
DATABASE_VARIABLES satisfies Record<SubgraphName, VariableName>;

/** A variable the platform declares (a subgraph's own variables are named in its settings.ts). */
export type VariableName = keyof typeof PLATFORM_VARIABLES;
export type PlatformEnv<N extends VariableName = VariableName> = EnvOf<typeof PLATFORM_VARIABLES, N>;

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

/** What the router reads when it runs alone (a container): the list compose and Kubernetes must satisfy. */
export const ROUTER_VARIABLES = [
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
] as const satisfies readonly VariableName[];
export type RouterEnv = PlatformEnv<(typeof ROUTER_VARIABLES)[number]>;

/** The platform variables every subgraph reads running alone: its port and database, Redis, RabbitMQ, the identity key. */
export function subgraphPlatformVariables<N extends SubgraphName>(name: N) {
  return [...SUBGRAPH_COMMON, PORT_VARIABLES[name], DATABASE_VARIABLES[name]] as const;
}
/** What every subgraph is given parsed, whatever else it reads (its port and database under their own names). */
export type SubgraphPlatformEnv = PlatformEnv<(typeof SUBGRAPH_COMMON)[number]>;

/**
 * A subgraph's own configuration, declared in its settings.ts: the variables only it reads (declared
 * there, once), the platform variables it reads besides every subgraph's, and how its settings are
 * built from their parsed values. `Overrides` are what the all-in-one process may set that the
 * environment does not (tests: short sessions, a fast dispatch sweep...).
 */
export interface SubgraphSettings<Settings, Overrides = never> {
  variables: VariableCatalogue;
  platformVariables: readonly VariableName[];
  /** No I/O: the values are already validated (method syntax: each subgraph names the values it reads). */
  fromEnv(env: Record<string, unknown>, overrides?: Overrides): Settings;
}

/** The catalogue one subgraph's variables are parsed against: the platform's plus its own. */
export function catalogueOf(settings: Pick<SubgraphSettings<unknown>, "variables">): VariableCatalogue {
  return mergeCatalogues(PLATFORM_VARIABLES, settings.variables);
}

/** Catalogues merged into one; a variable declared twice is a mistake that would fork its meaning, so it throws. */
export function mergeCatalogues<C extends VariableCatalogue[]>(...catalogues: C): MergedCatalogue<C> {
  const merged: VariableCatalogue = {};
  for (const catalogue of catalogues) {
    for (const [name, declaration] of Object.entries(catalogue)) {
      if (Object.hasOwn(merged, name)) throw new Error(`variable ${name} is declared twice`);
      merged[name] = declaration;
    }
  }
  return merged as MergedCatalogue<C>;
}
type MergedCatalogue<C extends VariableCatalogue[]> = C extends [
  infer First extends VariableCatalogue,
  ...infer Rest extends VariableCatalogue[],
]
  ? First & MergedCatalogue<Rest>
  : unknown;

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

/** True when the variable must be set (it has neither a default nor an optional marker). */
export function isRequired(declaration: Variable): boolean {
  return !declaration.schema.safeParse(undefined).success;
}

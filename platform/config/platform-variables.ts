import { z } from "zod";

import {
  DATABASE_VARIABLES,
  DEFAULT_PORTS,
  PORT_VARIABLES,
  type ServiceName,
  type SubgraphName,
} from "./services";
import {
  base64Key,
  commaSeparated,
  csv,
  type EnvOf,
  pem,
  port,
  url,
  variable,
  type VariableCatalogue,
} from "./variable";

/** The variables every service shares, and the router's own: declared once, with their validation. */
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
    commaSeparated("loopback"),
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
  DATA_KEK: variable(
    base64Key(32),
    "subgraphs: key-encryption key wrapping each subgraph's data keys (32 bytes, base64; decision 012). Not read yet: required once field encryption is wired in (issue 16)",
  ),
  DATA_KEK_PREVIOUS: variable(
    z
      .string()
      .transform((value, context) =>
        value
          .split(",")
          .map((part) => part.trim())
          .filter(Boolean)
          .map((key) => {
            const parsed = base64Key(32).safeParse(key);
            if (!parsed.success)
              context.addIssue({
                code: "custom",
                message: "each key must be 32 random bytes, base64-encoded",
              });
            return parsed.data ?? Buffer.alloc(0);
          }),
      )
      .optional(),
    "subgraphs: earlier key-encryption keys (comma-separated) that still unwrap data keys while they are re-wrapped",
  ),
  USAGE_RECORDING: variable(
    z.stringbool().default(true),
    "router: `false` stops counting which schema coordinates each client uses (the usage `orion schema usage export` reads)",
  ),
  USAGE_RETENTION_DAYS: variable(
    z.coerce.number().int().min(1).max(366).default(30),
    "router: days recorded usage stays in Redis (one hash per UTC day, expiring after this many days)",
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

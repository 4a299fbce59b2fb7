import { PLATFORM_VARIABLES, type PlatformEnv, type VariableName } from "./platform-variables";
import { DATABASE_VARIABLES, PORT_VARIABLES, type SubgraphName } from "./services";
import { mergeCatalogues, type VariableCatalogue } from "./variable";

/** Which platform variables each service reads when it runs alone, and what a subgraph adds of its own. */

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

/** The variables that configure the router's usage recording (router/usage/usage-recorder.ts reads them). */
export const USAGE_VARIABLES = [
  "USAGE_RECORDING",
  "USAGE_RETENTION_DAYS",
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
  ...USAGE_VARIABLES,
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

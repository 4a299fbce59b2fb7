import {
  ApolloGateway,
  RemoteGraphQLDataSource,
  type GraphQLDataSourceProcessOptions,
} from "@apollo/gateway";
import type {
  GatewayGraphQLRequest,
  GatewayGraphQLResponse,
  GatewayInterface,
} from "@apollo/server-gateway-interface";
import type { KeyObject } from "node:crypto";
import {
  GraphQLError,
  Kind,
  parse,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type SelectionSetNode,
} from "graphql";
import type { CryptoKey } from "jose";
import type { RouterEnv, SubgraphName, VariableName } from "../platform/config";
import { CLIENT_ERROR_CODES, ErrorCode } from "../platform/errors";
import { REQUEST_ID_HEADER } from "../platform/http/correlation";
import { DEADLINE_HEADER, SENT_AT_HEADER } from "../platform/requests/deadline";
import { IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER } from "../platform/requests/idempotency";
import { ANONYMOUS, AssertionSigner, IDENTITY_HEADER, NO_CLIENT } from "../platform/identity/identity";
import type { Logger } from "../platform/logger";
import type { FetchOutcome, RouterMetrics } from "./router-metrics";
import { DEFAULT_BREAKER, isOpenCircuit, SubgraphBreakers, type BreakerSettings } from "./circuit-breaker";
import type { RouterContext } from "./context";
import {
  SubgraphHttpClient,
  SubgraphTimeoutError,
  SubgraphUnreachableError,
  type Fetcher,
} from "./subgraph-fetcher";
import { supergraphSource } from "./supergraph-source";

/** How the router treats slow and failing subgraphs. */
export interface SubgraphResilience {
  /** Longest wait for one subgraph fetch, headers and body (default 10 s). */
  timeoutMs?: number;
  /** Per-subgraph overrides of `timeoutMs`. */
  timeouts?: Partial<Record<SubgraphName, number>>;
  breaker?: Partial<BreakerSettings>;
}

export const DEFAULT_SUBGRAPH_TIMEOUT_MS = 10_000;
/** ApolloGateway's own default, stated: an LRU of query plans bounded by their approximate JSON size. */
export const DEFAULT_QUERY_PLAN_CACHE_MIB = 30;

export interface GatewayOptions {
  /** The committed supergraph: the router never composes from live subgraphs. Default: read from `supergraphPath`. */
  supergraphSdl?: string;
  /** The supergraph file, watched: a valid change is applied without a restart. */
  supergraphPath?: string;
  /** How often the supergraph file is checked (default 1 s; 0 turns reloading off). */
  supergraphPollIntervalMs?: number;
  /** Per-subgraph URL overrides (container names, test ports); default: the supergraph's routing URLs. */
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  identityKey: CryptoKey | KeyObject;
  logger: Logger;
  /** Where subgraph fetch latency and outcomes are counted. */
  metrics?: RouterMetrics;
  subgraphs?: SubgraphResilience;
  /** Upper bound of the query-plan cache (approximate MiB of plans; default 30). */
  queryPlanCacheMiB?: number;
}

/** The router's resilience settings that come from the environment (platform/config.ts). */
export const RESILIENCE_VARIABLES = [
  "SUPERGRAPH_POLL_INTERVAL_MS",
  "SUBGRAPH_TIMEOUT_MS",
  "SUBGRAPH_BREAKER_COOLDOWN_MS",
  "DRAIN_TIMEOUT_MS",
] as const satisfies readonly VariableName[];

export function resilienceFromEnv(env: Pick<RouterEnv, (typeof RESILIENCE_VARIABLES)[number]>) {
  return {
    supergraphPollIntervalMs: env.SUPERGRAPH_POLL_INTERVAL_MS,
    subgraphs: {
      timeoutMs: env.SUBGRAPH_TIMEOUT_MS,
      breaker: { cooldownMs: env.SUBGRAPH_BREAKER_COOLDOWN_MS },
    } satisfies SubgraphResilience,
    drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
  };
}

/** The share of a fetch's timeout a subgraph is given as its own deadline. */
const DOWNSTREAM_BUDGET_SHARE = 0.7;

/** Most entity errors one failed fetch reports (one per entity and field, up to this). */
const MAX_ERRORS_PER_FETCH = 100;

/**
 * Forwards each request's identity as a short-lived signed assertion, and its correlation id. A
 * fetch that fails (timeout, unreachable, 5xx, open circuit) never fails the whole request: it
 * becomes an error on the fields that subgraph owed, and the other subgraphs' data is kept. A
 * subgraph's deliberate non-2xx answer (a client error, a shed) reaches the client unchanged.
 */
class OrionDataSource extends RemoteGraphQLDataSource<RouterContext> {
  private readonly timeoutMs: string;

  constructor(
    config: { url?: string; name: string; fetcher: Fetcher; timeoutMs: number },
    private readonly assertions: AssertionSigner,
    private readonly breakers: SubgraphBreakers,
    private readonly logger: Logger,
    private readonly metrics?: RouterMetrics,
  ) {
    super(config);
    // The subgraph is told less than the router will wait (as gRPC propagates deadlines): work it
    // commits just before its deadline still reaches the router in time, even on a busy host.
    this.timeoutMs = String(Math.round(config.timeoutMs * DOWNSTREAM_BUDGET_SHARE));
  }

  declare readonly name: string;

  override async willSendRequest({
    request,
    context,
  }: Parameters<RemoteGraphQLDataSource<RouterContext>["willSendRequest"] & {}>[0]) {
    // Subgraphs answer nothing unsigned. The gateway's own calls (health checks, off in ORION) have
    // no caller: they go as an anonymous one with no client facts.
    context.assertion ??= this.assertions.sign(context.identity ?? ANONYMOUS, context.client ?? NO_CLIENT);
    request.http?.headers.set(IDENTITY_HEADER, await context.assertion);
    request.http?.headers.set(REQUEST_ID_HEADER, context.correlationId);
    // The subgraph stops (sheds, rolls back) what it cannot finish before this router stops waiting.
    request.http?.headers.set(DEADLINE_HEADER, this.timeoutMs);
    request.http?.headers.set(SENT_AT_HEADER, String(Date.now()));
    // Only the fetches that run the mutation itself: the entity fetches after it are reads.
    if (context.idempotencyKey && request.query?.trimStart().startsWith("mutation"))
      request.http?.headers.set(IDEMPOTENCY_KEY_HEADER, context.idempotencyKey);
  }

  /** A subgraph that answered from an idempotency record says so; the client is told (router.ts). */
  override didReceiveResponse({
    response,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<RouterContext>["didReceiveResponse"]>>[0]) {
    if (response.http?.headers.get(REPLAYED_HEADER)) context.idempotentReplay = true;
    return response;
  }

  override async process(
    options: GraphQLDataSourceProcessOptions<RouterContext>,
  ): Promise<GatewayGraphQLResponse> {
    if (!("incomingRequestContext" in options)) return super.process(options); // health checks
    const started = performance.now();
    const observe = (outcome: FetchOutcome) =>
      this.metrics?.subgraphFetch(this.name as SubgraphName, outcome, (performance.now() - started) / 1000);
    try {
      // An answer the subgraph gave on purpose (a refusal, a shed) is a success to the circuit.
      const response = await this.breakers.run(this.name, async () => {
        try {
          return await super.process(options);
        } catch (error) {
          const answer = deliberateAnswer(error);
          if (answer) return answer;
          throw error;
        }
      });
      observe(response.errors?.some(isUnavailable) ? "unavailable" : "ok");
      return response;
    } catch (error) {
      observe(
        isOpenCircuit(error) ? "circuit_open" : error instanceof SubgraphTimeoutError ? "timeout" : "error",
      );
      const failure = describeFailure(this.name, error, this.breakers.retryAfterSeconds(this.name));
      if (!isOpenCircuit(error))
        this.logger.warn(
          { subgraph: this.name, err: error, correlationId: options.context.correlationId },
          failure.log,
        );
      return { errors: failedFetchErrors(options.request, failure.client) };
    }
  }
}

/** Codes a subgraph's non-2xx answer may carry to the client as they are. */
const DELIVERABLE_CODES: ReadonlySet<string> = new Set(
  [...CLIENT_ERROR_CODES, ErrorCode.SERVICE_UNAVAILABLE].filter(
    // A subgraph's 401 refuses the router's identity assertion, not the client's credential: ours to fix.
    (code) => code !== ErrorCode.UNAUTHENTICATED,
  ),
);

const codeOf = (error: GraphQLFormattedError): unknown => error.extensions?.code;
const isUnavailable = (error: GraphQLFormattedError) => codeOf(error) === ErrorCode.SERVICE_UNAVAILABLE;

/**
 * Apollo Server answers a request it refuses with a non-2xx status and a GraphQL body: 400 for a
 * document or variables it will not run (an invalid DateTime literal is GRAPHQL_VALIDATION_FAILED,
 * an invalid variable BAD_USER_INPUT), 503 when the subgraph sheds or lost a dependency.
 * RemoteGraphQLDataSource throws on any non-2xx; a body whose every error has a code the client may
 * see is the subgraph's answer, returned as such (data included). Anything else stays a failure.
 */
export function deliberateAnswer(error: unknown): GatewayGraphQLResponse | undefined {
  if (!(error instanceof GraphQLError)) return undefined;
  const body = (error.extensions.response as { body?: unknown } | undefined)?.body;
  if (!body || typeof body !== "object") return undefined;
  const { data, errors } = body as { data?: unknown; errors?: unknown };
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const formatted = errors as GraphQLFormattedError[];
  if (!formatted.every((e) => typeof codeOf(e) === "string" && DELIVERABLE_CODES.has(codeOf(e) as string)))
    return undefined;
  return {
    ...(data && typeof data === "object" ? { data: data as Record<string, unknown> } : {}),
    errors: formatted,
  };
}

/**
 * A fetch failure the circuit counts: the subgraph is gone or broken (unreachable, or a 5xx without a
 * deliberate answer). Not a 4xx refusal, and not a timeout: one slow operation must not open the
 * circuit for the subgraph's other, fast operations (the timeout already bounds what it costs).
 */
export function isSubgraphFailure(error: unknown): boolean {
  if (error instanceof SubgraphTimeoutError) return false;
  const status = httpStatusOf(error);
  return status === undefined || status >= 500;
}

function httpStatusOf(error: unknown): number | undefined {
  if (!(error instanceof GraphQLError)) return undefined;
  const status = (error.extensions.response as { status?: unknown } | undefined)?.status;
  return typeof status === "number" ? status : undefined;
}

/** Statuses a proxy or load balancer in front of a subgraph answers when it is out: an outage, not a bug. */
const OUTAGE_STATUSES = new Set([502, 503, 504]);

interface Failure {
  /** What the router logs. */
  log: string;
  /** What the client gets, with `extensions` (the gateway adds serviceName). */
  client: GraphQLFormattedError;
}

/**
 * An outage (no answer in time, unreachable, an open circuit, a gateway status) is
 * SERVICE_UNAVAILABLE with `retryAfter`: nothing of that part was done and a retry may succeed.
 * Anything else the subgraph answered (a 500, a 4xx without a deliverable body) is ours to fix:
 * INTERNAL_SERVER_ERROR, masked by the router's error formatting.
 */
export function describeFailure(subgraph: string, error: unknown, circuitRetryAfter: number): Failure {
  const outage = (log: string, retryAfter = DEFAULT_RETRY_AFTER_SECONDS): Failure => ({
    log,
    client: {
      message: `The ${subgraph} service is unavailable; retry in ${retryAfter} s`,
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfter },
    },
  });
  if (isOpenCircuit(error))
    return outage(`Subgraph ${subgraph} is unavailable (circuit open); retry shortly`, circuitRetryAfter);
  if (error instanceof SubgraphTimeoutError)
    return outage(`Subgraph ${subgraph} did not answer within ${error.timeoutMs} ms`);
  if (error instanceof SubgraphUnreachableError) return outage(`Subgraph ${subgraph} is unreachable`);
  const status = httpStatusOf(error);
  if (status !== undefined && OUTAGE_STATUSES.has(status))
    return outage(`Subgraph ${subgraph} answered HTTP ${status}`);
  const log =
    status !== undefined ? `Subgraph ${subgraph} answered HTTP ${status}` : `Subgraph ${subgraph} failed`;
  return { log, client: { message: log, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } } };
}

/** How long a client is told to wait after a subgraph timed out or could not be reached. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * The errors of a fetch that produced no response, placed where the subgraph's own errors would
 * be: on each root field it was asked for, or on each field of each entity (`_entities.<i>.<field>`,
 * which the gateway maps onto the entity's path in the client's response). The gateway adds
 * `serviceName`; the router's error masking keeps the path, the code and the service name.
 */
export function failedFetchErrors(
  request: GatewayGraphQLRequest,
  error: GraphQLFormattedError,
): GraphQLFormattedError[] {
  const paths = requestedPaths(request);
  if (paths.length === 0) return [error];
  return paths.map((path) => ({ ...error, path }));
}

function requestedPaths(request: GatewayGraphQLRequest): (string | number)[][] {
  if (!request.query) return [];
  let document;
  try {
    document = parse(request.query, { noLocation: true });
  } catch {
    return [];
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  let operation: SelectionSetNode | undefined;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION) operation ??= definition.selectionSet;
  }
  if (!operation) return [];
  const roots = responseFields(operation, fragments);
  if (!roots.has("_entities")) return [...roots.keys()].map((key) => [key]);

  const entities = roots.get("_entities");
  const fields = entities ? [...responseFields(entities, fragments).keys()] : [];
  const representations = request.variables?.representations;
  const count = Array.isArray(representations) ? representations.length : 0;
  const paths: (string | number)[][] = [];
  for (let index = 0; index < count && paths.length < MAX_ERRORS_PER_FETCH; index++) {
    for (const field of fields) paths.push(["_entities", index, field]);
  }
  return paths.slice(0, MAX_ERRORS_PER_FETCH);
}

/** Response key -> its selection set, for the fields of a selection (through fragments), `__typename` aside. */
function responseFields(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  into = new Map<string, SelectionSetNode | undefined>(),
): Map<string, SelectionSetNode | undefined> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      if (key !== "__typename" && !into.has(key)) into.set(key, selection.selectionSet);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      responseFields(selection.selectionSet, fragments, into);
    } else {
      const fragment = fragments.get(selection.name.value);
      if (fragment) responseFields(fragment.selectionSet, fragments, into);
    }
  }
  return into;
}

export function createGateway(options: GatewayOptions): GatewayInterface {
  const settings = options.subgraphs ?? {};
  const http = new SubgraphHttpClient();
  const assertions = new AssertionSigner(options.identityKey);
  const breakers = new SubgraphBreakers(
    { ...DEFAULT_BREAKER, ...settings.breaker },
    isSubgraphFailure,
    options.logger.child({ component: "circuit" }),
  );
  const timeoutFor = (name: string) =>
    settings.timeouts?.[name as SubgraphName] ?? settings.timeoutMs ?? DEFAULT_SUBGRAPH_TIMEOUT_MS;
  return withoutApolloTelemetry(
    () =>
      new ApolloGateway({
        supergraphSdl: supergraphSource({
          sdl: options.supergraphSdl,
          path: options.supergraphPath,
          pollIntervalMs: options.supergraphPollIntervalMs,
          logger: options.logger,
          onStop: async () => {
            breakers.shutdown();
            await http.close();
          },
        }),
        logger: options.logger,
        // A reloaded file is checked in full even in production, where the gateway would skip it.
        validateSupergraph: true,
        experimental_approximateQueryPlanStoreMiB: options.queryPlanCacheMiB ?? DEFAULT_QUERY_PLAN_CACHE_MIB,
        buildService: ({ name, url }) => {
          const subgraph = name.toLowerCase() as SubgraphName;
          return new OrionDataSource(
            {
              name,
              url: options.subgraphUrls[subgraph] ?? url,
              fetcher: http.fetcher(timeoutFor(subgraph)),
              timeoutMs: timeoutFor(subgraph),
            },
            assertions,
            breakers,
            options.logger,
            options.metrics,
          );
        },
      }) as unknown as GatewayInterface,
  );
}

/**
 * @apollo/gateway reads APOLLO_TELEMETRY_DISABLED in its constructor: unless it says true, the
 * gateway probes the cloud metadata endpoints (AWS, GCP, Azure, Alibaba) at once and reports host
 * details to Apollo every hour. ORION's router talks to its subgraphs only, so the variable reads
 * true while the gateway is built (an operator's own value wins) and is put back afterwards: the
 * rest of the process and its children see the environment they were given.
 */
function withoutApolloTelemetry<T>(build: () => T): T {
  const given = process.env.APOLLO_TELEMETRY_DISABLED;
  process.env.APOLLO_TELEMETRY_DISABLED = given ?? "true";
  try {
    return build();
  } finally {
    if (given === undefined) delete process.env.APOLLO_TELEMETRY_DISABLED;
  }
}

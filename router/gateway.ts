import type { KeyObject } from "node:crypto";

import {
  ApolloGateway,
  type GraphQLDataSourceProcessOptions,
  RemoteGraphQLDataSource,
} from "@apollo/gateway";
import type { GatewayGraphQLResponse, GatewayInterface } from "@apollo/server-gateway-interface";
import type { CryptoKey } from "jose";

import type { RouterEnv, SubgraphName, VariableName } from "../platform/config";
import { REQUEST_ID_HEADER } from "../platform/http/correlation";
import { ANONYMOUS, AssertionSigner, IDENTITY_HEADER, NO_CLIENT } from "../platform/identity/identity";
import type { Logger } from "../platform/logger";
import { DEADLINE_HEADER, SENT_AT_HEADER } from "../platform/requests/deadline";
import { IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER } from "../platform/requests/idempotency";
import { type BreakerSettings, DEFAULT_BREAKER, isOpenCircuit, SubgraphBreakers } from "./circuit-breaker";
import type { RouterContext } from "./context";
import type { FetchOutcome, RouterMetrics } from "./router-metrics";
import {
  deliberateAnswer,
  describeFailure,
  failedFetchErrors,
  isSubgraphFailure,
  isUnavailable,
} from "./subgraph-failures";
import { type Fetcher, SubgraphHttpClient, SubgraphTimeoutError } from "./subgraph-fetcher";
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

/** The router's resilience settings that come from the environment (platform/config/platform-variables.ts). */
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

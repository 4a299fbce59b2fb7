import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from "@apollo/server-gateway-interface";
import {
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLFormattedError,
  Kind,
  parse,
  type SelectionSetNode,
} from "graphql";

import { CLIENT_ERROR_CODES, ErrorCode } from "../platform/errors";
import { isOpenCircuit } from "./circuit-breaker";
import { SubgraphTimeoutError, SubgraphUnreachableError } from "./subgraph-fetcher";

/**
 * What a failed subgraph fetch becomes: a deliberate answer passed through, an outage or a fault
 * of ours for the client, a failure the circuit counts or not, and errors on the fields it owed.
 */

/** Most entity errors one failed fetch reports (one per entity and field, up to this). */
const MAX_ERRORS_PER_FETCH = 100;

/** Codes a subgraph's non-2xx answer may carry to the client as they are. */
const DELIVERABLE_CODES: ReadonlySet<string> = new Set(
  [...CLIENT_ERROR_CODES, ErrorCode.SERVICE_UNAVAILABLE].filter(
    // A subgraph's 401 refuses the router's identity assertion, not the client's credential: ours to fix.
    (code) => code !== ErrorCode.UNAUTHENTICATED,
  ),
);

const codeOf = (error: GraphQLFormattedError): unknown => error.extensions?.code;
export const isUnavailable = (error: GraphQLFormattedError) =>
  codeOf(error) === ErrorCode.SERVICE_UNAVAILABLE;

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

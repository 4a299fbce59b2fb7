import { GraphQLError, type GraphQLFormattedError } from "graphql";

import { type Dependency, dependencyOutage } from "./outages";

/** The public error codes of ../shared/API.graphql, in one place: clients switch on these. */
export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  RATE_LIMITED: "RATE_LIMITED",
  /** A dependency is down or the work was shed: nothing was done; retry after `extensions.retryAfter`. */
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401 };

export function publicError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export const unauthenticated = (message = "Authentication required") =>
  publicError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = "Not allowed") => publicError(ErrorCode.FORBIDDEN, message);
export const notFound = (message = "Not found") => publicError(ErrorCode.NOT_FOUND, message);
export const conflict = (message: string) => publicError(ErrorCode.CONFLICT, message);
export const badUserInput = (field: string, message: string) =>
  publicError(ErrorCode.BAD_USER_INPUT, message, { field });

/** An error raised before execution (e.g. a bad credential) that must also set the HTTP status. */
export function requestError(code: ErrorCode, message: string, httpStatus?: number): GraphQLError {
  const status = httpStatus ?? HTTP_STATUS[code];
  return new GraphQLError(message, { extensions: { code, ...(status ? { http: { status } } : {}) } });
}

/**
 * A dependency is out, or the work was shed under load: nothing was done and the client may retry
 * after `retryAfterSeconds`. `extensions.retryAfter` says when; when the whole operation fails the
 * answer is HTTP 503 with `Retry-After`.
 */
export function unavailable(message: string, retryAfterSeconds = OUTAGE_RETRY_AFTER_SECONDS): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: ErrorCode.SERVICE_UNAVAILABLE,
      retryAfter: retryAfterSeconds,
      // Apollo Server reads a Map here; graphql-yoga's global typing (pulled in by the router
      // benchmark's Hive Gateway) declares a record, hence the cast.
      http: {
        status: 503,
        headers: new Map([["retry-after", String(retryAfterSeconds)]]) as unknown as Record<string, string>,
      },
    },
  });
}

/** Apollo Server's own request-level codes: they describe the client's request, never our internals. */
export const REQUEST_ERROR_CODES: readonly string[] = [
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
];

/**
 * The caller's mistakes and the platform's refusals (bad input, credentials, limits): every public
 * code but INTERNAL_SERVER_ERROR (a fault of ours) and SERVICE_UNAVAILABLE (an outage or a shed:
 * not the caller's doing, and what an operator's error-rate alert must see).
 */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set<string>([
  ...Object.values(ErrorCode).filter(
    (code) => code !== ErrorCode.INTERNAL_SERVER_ERROR && code !== ErrorCode.SERVICE_UNAVAILABLE,
  ),
  ...REQUEST_ERROR_CODES,
]);

const PUBLIC_CODES = new Set<string>([
  ...CLIENT_ERROR_CODES,
  ErrorCode.SERVICE_UNAVAILABLE,
  ErrorCode.INTERNAL_SERVER_ERROR,
]);

export const INTERNAL_MESSAGE = "Internal server error";
export const OUTAGE_MESSAGE =
  "A service this operation needs is unavailable; nothing was done, retry shortly";
/** Outages seen so far (a cut, a restart) heal within seconds: reconnects back off up to 5 s. */
export const OUTAGE_RETRY_AFTER_SECONDS = 2;

/**
 * Keeps what a client may see: the message and code of a deliberate public error. Anything else
 * (a driver error, a bug) becomes INTERNAL_SERVER_ERROR with no detail; `onInternal` logs it. It
 * gets no message to log: the caller logs the original error as `err`, through the logger's error
 * serializer, since a driver error's message holds the statement's values
 * (docs/decisions/005-no-secrets-in-logs.md).
 */
export function maskError(
  formatted: GraphQLFormattedError,
  onInternal: () => void,
  original?: unknown,
  onOutage?: (dependency: Dependency) => void,
): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  const { stacktrace: _stacktrace, exception: _exception, ...extensions } = formatted.extensions ?? {};
  if (typeof code === "string" && PUBLIC_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    return { ...formatted, extensions };
  }
  const outage = dependencyOutage(original);
  if (outage) {
    onOutage?.(outage);
    return {
      message: OUTAGE_MESSAGE,
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfter: OUTAGE_RETRY_AFTER_SECONDS },
      ...(formatted.path ? { path: formatted.path } : {}),
    };
  }
  // A subgraph's error reaches the router already masked (serviceName set); the subgraph logged its detail.
  if (!extensions.serviceName) onInternal();
  return {
    message: INTERNAL_MESSAGE,
    extensions: {
      code: ErrorCode.INTERNAL_SERVER_ERROR,
      ...(extensions.serviceName ? { serviceName: extensions.serviceName } : {}),
    },
    ...(formatted.path ? { path: formatted.path } : {}),
  };
}

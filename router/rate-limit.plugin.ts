import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";

import { ErrorCode } from "../platform/errors";
import type { RouterContext } from "./context";
import type { RateLimitDecision, RouterRateLimiter } from "./rate-limit";
import type { RouterMetrics } from "./router-metrics";

/** How the rate limiter answers: the 429 error or body, the RateLimit-* headers, the Apollo plugin. */

const tooManyRequests = (retryAfterSeconds: number) => `Too many requests; retry in ${retryAfterSeconds} s`;

/** RATE_LIMITED, HTTP 429 with `Retry-After`, and `extensions.retryAfter` in seconds. */
export function rateLimited(retryAfterSeconds: number): GraphQLError {
  // Apollo Server takes `http.headers` only as a Map (typed loosely: other packages augment the type).
  const extensions: Record<string, unknown> = {
    code: ErrorCode.RATE_LIMITED,
    retryAfter: retryAfterSeconds,
    http: { status: 429, headers: new Map([["retry-after", String(retryAfterSeconds)]]) },
  };
  return new GraphQLError(tooManyRequests(retryAfterSeconds), { extensions });
}

/** The same answer as `rateLimited`, for a request refused before it reaches Apollo Server. */
export function rateLimitedBody(retryAfterSeconds: number) {
  return {
    errors: [
      {
        message: tooManyRequests(retryAfterSeconds),
        extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: retryAfterSeconds },
      },
    ],
  };
}

/** The draft-ietf-httpapi-ratelimit-headers fields of a decision (lowercase names). */
export function rateLimitHeaders(decision: RateLimitDecision): [string, string][] {
  return [
    ["ratelimit-limit", String(decision.limit)],
    ["ratelimit-remaining", String(decision.remaining)],
    ["ratelimit-reset", String(decision.resetSeconds)],
    ["ratelimit-policy", `${decision.limit};w=${decision.windowSeconds}`],
  ];
}

/** What the plugin needs of the request's refusal record (router/rate-limit-gate.ts). */
export interface RefusalNotes {
  /** An operation was refused (its request failed as a whole, 4xx); it had been charged `charged` points. */
  refusedOperation(charged: number): void;
}

/**
 * Charges each operation once it is resolved (its type is known; nothing has reached a subgraph
 * yet) and sets the `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers) on every such
 * response; over budget it answers 429 RATE_LIMITED before anything executes. An operation that
 * ends as a refusal (a parse or validation failure, an unknown persisted hash, not safelisted...)
 * is noted on the request, whose refusal is charged when its answer has left.
 */
export function rateLimitPlugin(
  limiter: RouterRateLimiter,
  metrics?: Pick<RouterMetrics, "rateLimited">,
): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      // What this operation was charged; another plugin may refuse it while the charge is counted.
      let charged: Promise<number> = Promise.resolve(0);
      return {
        async didResolveOperation({ contextValue, operation, response }) {
          const checked = limiter.check(
            contextValue.identity,
            contextValue.client,
            operation?.operation ?? "query",
          );
          charged = checked.then(
            (decision) => decision.charged,
            () => 0,
          );
          const decision = await checked;
          for (const [name, value] of rateLimitHeaders(decision)) response.http.headers.set(name, value);
          if (!decision.allowed) {
            metrics?.rateLimited(contextValue.identity);
            throw rateLimited(decision.resetSeconds);
          }
        },
        async willSendResponse({ contextValue, response }) {
          // A request error (no `data`): the operation never ran. Over budget or the server's fault is no refusal.
          const status = response.http.status ?? 200;
          if (
            response.body.kind === "single" &&
            response.body.singleResult.data === undefined &&
            status !== 429 &&
            status < 500
          )
            contextValue.refusals?.refusedOperation(await charged);
        },
      };
    },
  };
}

import { Counter, Histogram, type Registry } from "prom-client";

import type { SubgraphName } from "../platform/config";
import type { Identity } from "../platform/identity/identity";
import { LATENCY_BUCKETS } from "../platform/metrics";

/** Why a credential was refused: a fixed set, so the label never carries what the caller sent. */
export type AuthFailureReason =
  | "both_credentials"
  | "malformed_header"
  | "invalid_token"
  | "session_ended"
  | "invalid_api_key"
  | "expired_api_key";

/**
 * How a subgraph fetch ended. "ok" includes answers refusing the client's input (a client error is
 * not the subgraph's failure); "unavailable": the subgraph answered SERVICE_UNAVAILABLE (shed, or a
 * dependency of its own is out).
 */
export type FetchOutcome = "ok" | "unavailable" | "error" | "timeout" | "circuit_open";

/** What only the router measures: its subgraph fetches, the callers it turns away and why. */
export interface RouterMetrics {
  subgraphFetch(subgraph: SubgraphName, outcome: FetchOutcome, seconds: number): void;
  rateLimited(identity: Identity): void;
  authFailure(reason: AuthFailureReason): void;
}

export function createRouterMetrics(registry: Registry): RouterMetrics {
  const fetches = new Histogram({
    name: "orion_subgraph_fetch_duration_seconds",
    help: "Router fetches to a subgraph, by subgraph and outcome (ok, unavailable, error, timeout, circuit_open)",
    labelNames: ["subgraph", "outcome"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: "orion_rate_limit_rejections_total",
    help: "Operations refused with RATE_LIMITED, by caller kind (user, api_key, anonymous)",
    labelNames: ["caller"],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: "orion_auth_failures_total",
    help: "Requests refused with UNAUTHENTICATED at the router, by reason",
    labelNames: ["reason"],
    registers: [registry],
  });
  return {
    subgraphFetch: (subgraph, outcome, seconds) => fetches.observe({ subgraph, outcome }, seconds),
    rateLimited: (identity) =>
      rateLimited.inc({
        caller: identity.kind === "anonymous" ? "anonymous" : identity.apiKeyId ? "api_key" : "user",
      }),
    authFailure: (reason) => authFailures.inc({ reason }),
  };
}

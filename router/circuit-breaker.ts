import CircuitBreaker from "opossum";

import type { Logger } from "../platform/logger";

export interface BreakerSettings {
  /** Share of failed calls (percent) in the rolling window that opens the circuit. */
  failureThresholdPercent: number;
  /** Calls the window must hold before it may open (one failure among two calls is not an outage). */
  minimumCalls: number;
  /** The rolling window, in milliseconds. */
  windowMs: number;
  /** How long an open circuit answers at once without calling, before one probe call (half-open). */
  cooldownMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = {
  failureThresholdPercent: 50,
  minimumCalls: 5,
  windowMs: 10_000,
  cooldownMs: 10_000,
};

export type BreakerState = "closed" | "open" | "half-open";

type Task = () => Promise<unknown>;

/** The error a call gets while the circuit is open (opossum's `EOPENBREAKER`). */
export const isOpenCircuit = (error: unknown): boolean =>
  (error as { code?: unknown } | null)?.code === "EOPENBREAKER";

/**
 * One circuit per subgraph (opossum). A call counts as failed when `isFailure` says so (unreachable,
 * a 5xx that is not a deliberate answer), not when the subgraph answered with GraphQL errors nor
 * when one call ran out of time (subgraph-failures.ts, `isSubgraphFailure`). Once open, calls are refused
 * immediately for the cool-down; then one probe goes through (half-open) and its outcome closes the
 * circuit or opens it for another cool-down. Shared by every data source the gateway builds for the
 * same subgraph, so a supergraph reload keeps the state.
 */
export class SubgraphBreakers {
  private readonly breakers = new Map<string, CircuitBreaker<[Task], unknown>>();
  /** When each circuit last opened: how long a refused caller should wait. */
  private readonly openedAt = new Map<string, number>();

  constructor(
    private readonly settings: BreakerSettings,
    private readonly isFailure: (error: unknown) => boolean,
    private readonly logger: Logger,
  ) {}

  /** Runs `task` through the subgraph's circuit: rejects at once with an open-circuit error while it is open. */
  run<T>(subgraph: string, task: () => Promise<T>): Promise<T> {
    return this.breaker(subgraph).fire(task) as Promise<T>;
  }

  state(subgraph: string): BreakerState {
    const breaker = this.breakers.get(subgraph);
    if (!breaker || breaker.closed) return "closed";
    return breaker.halfOpen ? "half-open" : "open";
  }

  /** Seconds until an open circuit lets a probe through (at least 1; the cool-down when not open). */
  retryAfterSeconds(subgraph: string): number {
    const opened = this.openedAt.get(subgraph);
    const remainingMs =
      opened === undefined || this.state(subgraph) === "closed"
        ? this.settings.cooldownMs
        : opened + this.settings.cooldownMs - Date.now();
    return Math.max(1, Math.ceil(remainingMs / 1000));
  }

  shutdown(): void {
    for (const breaker of this.breakers.values()) breaker.shutdown();
    this.breakers.clear();
  }

  private breaker(subgraph: string): CircuitBreaker<[Task], unknown> {
    let breaker = this.breakers.get(subgraph);
    if (breaker) return breaker;
    const { settings } = this;
    breaker = new CircuitBreaker((task: Task) => task(), {
      name: subgraph,
      timeout: false, // the HTTP client enforces the subgraph timeout and aborts the request
      errorThresholdPercentage: settings.failureThresholdPercent,
      volumeThreshold: settings.minimumCalls,
      rollingCountTimeout: settings.windowMs,
      rollingCountBuckets: 10,
      resetTimeout: settings.cooldownMs,
      rollingPercentilesEnabled: false, // latency percentiles cost CPU on every call; metrics come from elsewhere
      enableSnapshots: false,
      errorFilter: (error: unknown) => !this.isFailure(error),
    });
    const log = this.logger.child({ subgraph });
    breaker.on("open", () => {
      this.openedAt.set(subgraph, Date.now());
      log.warn({ cooldownMs: settings.cooldownMs }, "circuit open: calls to this subgraph fail fast");
    });
    breaker.on("halfOpen", () => log.info("circuit half-open: probing the subgraph"));
    breaker.on("close", () => log.info("circuit closed: the subgraph answers again"));
    this.breakers.set(subgraph, breaker);
    return breaker;
  }
}

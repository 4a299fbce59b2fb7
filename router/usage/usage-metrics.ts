import { Counter, Gauge, type Registry } from "prom-client";

/**
 * Usage recording on /metrics, in aggregate only: never a client or a coordinate as a label (the
 * counts themselves are in Redis, read by `orion schema usage export`).
 */
export interface UsageMetrics {
  operationRecorded(): void;
  flushed(result: "ok" | "failed"): void;
  dropped(uses: number): void;
}

export function createUsageMetrics(registry: Registry, pendingEntries: () => number): UsageMetrics {
  const recorded = new Counter({
    name: "orion_router_usage_operations_recorded_total",
    help: "Executed operations whose schema coordinates were counted as usage",
    registers: [registry],
  });
  const flushes = new Counter({
    name: "orion_router_usage_flushes_total",
    help: "Writes of counted usage to Redis, by result (ok; failed: kept in memory for the next flush)",
    labelNames: ["result"],
    registers: [registry],
  });
  const dropped = new Counter({
    name: "orion_router_usage_dropped_total",
    help: "Coordinate uses never written: the in-memory buffer was full while Redis could not take them",
    registers: [registry],
  });
  new Gauge({
    name: "orion_router_usage_pending_entries",
    help: "Day, client and coordinate counts in memory, waiting for the next flush",
    registers: [registry],
    collect() {
      this.set(pendingEntries());
    },
  });
  // Both results exist from the start: a rate over "failed" needs the series before the first failure.
  flushes.inc({ result: "ok" }, 0);
  flushes.inc({ result: "failed" }, 0);
  return {
    operationRecorded: () => recorded.inc(),
    flushed: (result) => flushes.inc({ result }),
    dropped: (uses) => dropped.inc(uses),
  };
}

import { Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface ServiceMetrics {
  registry: Registry;
  observeOperation(operation: string, outcome: "ok" | "error", seconds: number): void;
}

/** One registry per service (the all-in-one process runs five), labelled with the service name. */
export function createMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const operations = new Histogram({
    name: "orion_graphql_operation_duration_seconds",
    help: "GraphQL operations by operation name and outcome",
    labelNames: ["operation", "outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return {
    registry,
    observeOperation: (operation, outcome, seconds) => operations.observe({ operation, outcome }, seconds),
  };
}

import { existsSync, readFileSync } from "node:fs";

import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

import { PERSISTED_DOCUMENTS_PATH } from "./paths";

/**
 * Metrics every ORION service exposes on /metrics (prom-client), one registry per service (the
 * all-in-one process runs five), each series labelled with the service name. Label values never
 * come from user input unchecked: operation names go through OperationLabels, everything else is
 * one of a fixed set chosen in code.
 */
/** ok; rejected: the caller's mistake or a refusal (bad input, credentials, limits); error: ours. */
export type Outcome = "ok" | "rejected" | "error";

export interface ServiceMetrics {
  registry: Registry;
  /** One GraphQL operation: its histogram sample (the `_count` is the request counter). */
  observeOperation(operation: string | null | undefined, outcome: Outcome, seconds: number): void;
  /** One HTTP response, by route (a fixed set) and status class. */
  observeHttp(route: string, status: number): void;
}

export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The operation label of requests refused before anything ran (not a GraphQL name, so no clash). */
export const REFUSED_OPERATION = "(refused)";

/** The operation names of the repository's own documents (schema/operations/*.graphql). */
export function repositoryOperationNames(file = PERSISTED_DOCUMENTS_PATH): readonly string[] {
  let names = namesByManifest.get(file);
  if (!names) namesByManifest.set(file, (names = readOperationNames(file)));
  return names;
}

// Read once per process: the all-in-one process creates five registries.
const namesByManifest = new Map<string, readonly string[]>();

function readOperationNames(file: string): string[] {
  if (!existsSync(file)) return [];
  const documents = Object.values(JSON.parse(readFileSync(file, "utf8")) as Record<string, string>);
  return documents.flatMap((text) =>
    [...text.matchAll(/\b(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!),
  );
}

/**
 * Bounded operation labels: the repository's own operation names, then the first `extra`
 * well-formed names of operations that ran, then "other"; no name is "anonymous", a request
 * refused before it ran is "(refused)". The gateway names a subgraph's
 * share of an operation `<Operation>__<subgraph>__<n>`: the subgraph counts it under `<Operation>`.
 */
export class OperationLabels {
  private readonly known: Set<string>;
  private extraLeft: number;

  constructor(known: Iterable<string> = repositoryOperationNames(), extra = 100) {
    this.known = new Set(known);
    this.extraLeft = extra;
  }

  label(name: string | null | undefined): string {
    if (!name) return "anonymous";
    if (name === REFUSED_OPERATION) return name;
    const operation = name.replace(/__[a-z]+__\d+$/, "");
    if (this.known.has(operation)) return operation;
    if (this.extraLeft > 0 && NAME.test(operation)) {
      this.extraLeft--;
      this.known.add(operation);
      return operation;
    }
    return "other";
  }
}

const HTTP_ROUTES = new Set(["/graphql", "/health", "/ready", "/metrics", "/.well-known/jwks.json"]);

export function createMetrics(service: string, labels = new OperationLabels()): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const operations = new Histogram({
    name: "orion_graphql_operation_duration_seconds",
    help: "GraphQL operations by operation name and outcome (ok; rejected: bad input, credentials, limits; error: a fault of ours)",
    labelNames: ["operation", "outcome"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const http = new Counter({
    name: "orion_http_requests_total",
    help: "HTTP responses by route and status class",
    labelNames: ["route", "status"],
    registers: [registry],
  });
  return {
    registry,
    observeOperation: (operation, outcome, seconds) =>
      operations.observe({ operation: labels.label(operation), outcome }, seconds),
    observeHttp: (route, status) =>
      http.inc({ route: HTTP_ROUTES.has(route) ? route : "other", status: `${Math.floor(status / 100)}xx` }),
  };
}

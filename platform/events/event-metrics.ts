import { Counter, Gauge, Histogram, type Registry } from "prom-client";

import type { Database } from "../database/database";
import { withTimeout } from "../timeout";

/** How a consumer's turn with an event ended. */
export type HandledOutcome = "ok" | "duplicate" | "failed";
/** What the bus did with a failed event. */
export type FailureOutcome = "retried" | "dead_lettered";

/**
 * Event counters of one service, plus its outbox backlog and oldest pending age (read from the
 * database when scraped). Event types come from the wire for failed messages: a type this service
 * does not know is counted as "unknown", so a sender cannot mint label values.
 */
export interface EventMetrics {
  /**
   * A queue this service consumes: its types are counted by name from now on, and its failure
   * series exist at 0 (an alert sees the first failure as an increase).
   */
  prime(queue: string, types: Iterable<string>): void;
  published(type: string): void;
  publishFailed(type: string): void;
  handled(queue: string, type: string, outcome: HandledOutcome, lagSeconds?: number): void;
  failed(queue: string, type: string | null, outcome: FailureOutcome): void;
}

const GAUGE_DEADLINE_MS = 2_000;

export function createEventMetrics(
  registry: Registry,
  options: { db: Database; knownTypes: Iterable<string> },
): EventMetrics {
  const known = new Set(options.knownTypes);
  const typeLabel = (type: string | null) => (type && known.has(type) ? type : "unknown");
  const published = new Counter({
    name: "orion_events_published_total",
    help: "Events the outbox relay published (broker confirmed), by type",
    labelNames: ["type"],
    registers: [registry],
  });
  const publishFailures = new Counter({
    name: "orion_events_publish_failures_total",
    help: "Outbox publish attempts the broker did not confirm, by type (the row is retried)",
    labelNames: ["type"],
    registers: [registry],
  });
  const handled = new Counter({
    name: "orion_events_consumed_total",
    help: "Events a consumer took, by queue, type and outcome (ok, duplicate, failed)",
    labelNames: ["queue", "type", "outcome"],
    registers: [registry],
  });
  const failures = new Counter({
    name: "orion_events_failed_total",
    help: "Failed events by queue, type and what happened next (retried, dead_lettered)",
    labelNames: ["queue", "type", "outcome"],
    registers: [registry],
  });
  const lag = new Histogram({
    name: "orion_event_consumer_lag_seconds",
    help: "From an event's occurredAt to its handling committed, by queue",
    labelNames: ["queue"],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  // Read at scrape time, within a short deadline. When the database cannot answer, the gauges keep
  // their last value (a failing collect would fail the whole /metrics, hiding every other series).
  const outbox = async () => {
    const [row] = await withTimeout(
      options.db.orm.em
        .fork()
        .getConnection()
        .execute<{ count: string; age: number | null }[]>(
          `select count(*) as count, extract(epoch from now() - min(occurred_at))::float8 as age
           from outbox_events where published_at is null`,
        ),
      GAUGE_DEADLINE_MS,
      "answer",
    );
    return { backlog: Number(row?.count ?? 0), age: Number(row?.age ?? 0) };
  };
  let reading: Promise<{ backlog: number; age: number } | null> | null = null;
  // One query per scrape for both gauges.
  const read = () => {
    reading ??= outbox()
      .catch(() => null)
      .finally(() => setImmediate(() => (reading = null)));
    return reading;
  };
  new Gauge({
    name: "orion_outbox_backlog",
    help: "Outbox rows committed and not yet published",
    registers: [registry],
    async collect() {
      const value = await read();
      if (value) this.set(value.backlog);
    },
  });
  new Gauge({
    name: "orion_outbox_oldest_pending_seconds",
    help: "Age of the oldest outbox row not yet published (0 when none)",
    registers: [registry],
    async collect() {
      const value = await read();
      if (value) this.set(value.age);
    },
  });
  return {
    prime: (queue, types) => {
      for (const type of types) known.add(type);
      // Series exist at 0 from the start, so the first failure is an increase alerts can see.
      for (const type of types)
        for (const outcome of ["retried", "dead_lettered"] as const)
          failures.inc({ queue, type: typeLabel(type), outcome }, 0);
    },
    published: (type) => published.inc({ type: typeLabel(type) }),
    publishFailed: (type) => publishFailures.inc({ type: typeLabel(type) }),
    handled: (queue, type, outcome, lagSeconds) => {
      handled.inc({ queue, type: typeLabel(type), outcome });
      if (lagSeconds !== undefined && Number.isFinite(lagSeconds))
        lag.observe({ queue }, Math.max(0, lagSeconds));
    },
    failed: (queue, type, outcome) => failures.inc({ queue, type: typeLabel(type), outcome }),
  };
}

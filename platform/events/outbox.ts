import type { EntityManager } from "@mikro-orm/postgresql";
import { context } from "@opentelemetry/api";
import { Client } from "pg";

import type { Database } from "../database/database";
import type { Logger } from "../logger";
import { withTimeout } from "../timeout";
import { contextFrom, currentTraceparent } from "../tracing";
import {
  createEnvelope,
  type EventBus,
  type EventDefinition,
  type EventEnvelope,
  type PayloadOf,
} from "./event-bus";
import type { EventMetrics } from "./event-metrics";
import { OUTBOX_CHANNEL, OutboxEvent } from "./event-tables";

/**
 * Adds the event to the unit of work: it is committed by the same flush (the same transaction)
 * as the change it describes, or not at all. The relay publishes it after the commit.
 */
export function stageEvent<D extends EventDefinition>(
  em: EntityManager,
  definition: D,
  payload: PayloadOf<D>,
  meta: { producer: string; correlationId: string },
): EventEnvelope<PayloadOf<D>> {
  const traceparent = currentTraceparent();
  const envelope = { ...createEnvelope(definition, payload, meta), ...(traceparent ? { traceparent } : {}) };
  em.persist(
    Object.assign(new OutboxEvent(), {
      id: envelope.id,
      type: envelope.type,
      version: envelope.version,
      occurredAt: new Date(envelope.occurredAt),
      correlationId: envelope.correlationId,
      producer: envelope.producer,
      payload: envelope.payload,
      traceparent: traceparent ?? null,
    }),
  );
  return envelope;
}

export interface OutboxRelayOptions {
  db: Database;
  /** The database URL, for the LISTEN connection that wakes the relay on commit. */
  databaseUrl: string;
  bus: EventBus;
  logger: Logger;
  batchSize?: number;
  /** Fallback poll when no notification arrives (a lost LISTEN connection, a missed wake-up). */
  pollIntervalMs?: number;
  /** Longest wait between attempts while the broker is unreachable. */
  maxBackoffMs?: number;
  /**
   * Published rows are kept this long, then deleted (default 1 hour: some payloads carry one-time
   * tokens that have no business lingering). Inbox rows are kept 30 days, far beyond any redelivery.
   */
  retentionHours?: number;
  /** Where published and unconfirmed events are counted. */
  metrics?: Pick<EventMetrics, "published" | "publishFailed">;
}

interface OutboxRow {
  id: string;
  type: string;
  version: number;
  occurred_at: Date;
  correlation_id: string;
  producer: string;
  payload: unknown;
  traceparent: string | null;
}

/**
 * Publishes committed outbox rows in order, with publisher confirms, and marks each sent only
 * after its confirm. Rows are claimed with FOR UPDATE SKIP LOCKED, so several relays (replicas)
 * can run without publishing a row twice. Woken by the commit's NOTIFY; polls as a fallback;
 * backs off while the broker is unreachable and catches up afterwards.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private running = false;
  private draining: Promise<void> | null = null;
  private wakeAgain = false;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private listener: Client | null = null;
  private lastPurge = 0;
  private listenFailures = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 100;
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  async start(): Promise<void> {
    this.running = true;
    await this.listen();
    this.wake();
  }

  /** Stops after a last drain, so events committed before shutdown still leave when the broker is up. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.draining;
    if (this.failures === 0) await this.drainOnce().catch(() => undefined);
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
  }

  /** Runs a drain now, or right after the one in progress. */
  wake(): void {
    if (!this.running) return;
    if (this.draining) {
      this.wakeAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.wakeAgain && this.failures === 0) {
        this.wakeAgain = false;
        this.wake();
      } else this.schedule();
    });
  }

  /** Pending rows, for the outbox-backlog metric and tests. */
  async backlog(): Promise<number> {
    const [row] = await this.options.db.orm.em
      .fork()
      .getConnection()
      .execute<{ count: string }[]>(`select count(*) from outbox_events where published_at is null`);
    return Number(row?.count ?? 0);
  }

  private schedule(): void {
    if (!this.running) return;
    const delay =
      this.failures === 0
        ? this.pollIntervalMs
        : Math.min(this.maxBackoffMs, 250 * 2 ** Math.min(this.failures - 1, 10));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    try {
      while (this.running && (await this.drainOnce()) === this.batchSize);
      if (this.failures > 0)
        this.options.logger.info({ after: this.failures }, "outbox relay publishing again");
      this.failures = 0;
      await this.purge();
    } catch (error) {
      this.failures++;
      if (this.failures === 1 || this.failures % 20 === 0)
        this.options.logger.warn(
          { err: error, failures: this.failures },
          "outbox relay cannot publish; backing off",
        );
    }
  }

  /**
   * Claims one batch, publishes it, marks what was confirmed (committed even when some rows
   * failed), then throws if any failed. Returns how many rows it claimed.
   */
  private async drainOnce(): Promise<number> {
    const { claimed, failure, outcomes } = await this.options.db.orm.em.fork().transactional(async (em) => {
      const rows = await em.execute<OutboxRow[]>(
        `select id, type, version, occurred_at, correlation_id, producer, payload, traceparent
         from outbox_events
         where published_at is null and (next_attempt_at is null or next_attempt_at <= now())
         order by position limit ? for update skip locked`,
        [this.batchSize],
      );
      if (rows.length === 0) return { claimed: 0, failure: null, outcomes: [] };
      // A broker that blocks publishing (a resource alarm) must not hold these row locks forever.
      const results = await Promise.allSettled(
        rows.map((row) =>
          // Published in the trace of the change that staged it (the AMQP instrumentation reads it).
          context.with(contextFrom(row.traceparent), () =>
            withTimeout(this.options.bus.publish(toEnvelope(row)), PUBLISH_TIMEOUT_MS, "broker confirm"),
          ),
        ),
      );
      // Counted once the transaction that marks them has committed (below).
      const outcomes = rows.map((row, index) => ({
        type: row.type,
        sent: results[index]!.status === "fulfilled",
      }));
      const sent = rows.filter((_, index) => results[index]!.status === "fulfilled").map((row) => row.id);
      if (sent.length > 0)
        await em.execute(`update outbox_events set published_at = now() where id = any(?::uuid[])`, [
          `{${sent.join(",")}}`,
        ]);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
      if (failed) {
        const failedIds = rows
          .filter((_, index) => results[index]!.status === "rejected")
          .map((row) => row.id);
        const reason = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
        await em.execute(
          `update outbox_events set attempts = attempts + 1, last_error = ? where id = any(?::uuid[])`,
          [reason.slice(0, 1000), `{${failedIds.join(",")}}`],
        );
        return {
          outcomes,
          claimed: rows.length,
          failure: new Error(`${failedIds.length} of ${rows.length} events not confirmed: ${reason}`),
        };
      }
      return { claimed: rows.length, failure: null, outcomes };
    });
    for (const { type, sent } of outcomes)
      if (sent) this.options.metrics?.published(type);
      else this.options.metrics?.publishFailed(type);
    if (failure) throw failure;
    return claimed;
  }

  private async purge(): Promise<void> {
    const hours = this.options.retentionHours ?? 1;
    if (Date.now() - this.lastPurge < 600_000) return;
    this.lastPurge = Date.now();
    const connection = this.options.db.orm.em.fork().getConnection();
    await connection.execute(
      `delete from outbox_events where published_at < now() - make_interval(hours => ?)`,
      [hours],
    );
    await connection.execute(`delete from inbox_events where processed_at < now() - interval '30 days'`);
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.options.databaseUrl });
    client.on("error", (error) => {
      if (this.listener !== client) return;
      this.options.logger.warn({ err: error }, "outbox LISTEN connection lost; polling until it is back");
      this.listener = null;
      void client.end().catch(() => undefined);
      if (this.running) setTimeout(() => void this.listen().catch(() => undefined), 1000).unref();
    });
    // While backing off, a commit's notification must not bypass the backoff: the timer decides.
    client.on("notification", () => {
      if (this.failures === 0) this.wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (!this.running) {
        await client.end().catch(() => undefined);
        return;
      }
      this.listener = client;
      this.listenFailures = 0;
      this.wake(); // rows committed while nobody listened
    } catch (error) {
      this.listenFailures++;
      if (this.listenFailures === 1)
        this.options.logger.warn({ err: error }, "outbox LISTEN unavailable; polling until it is back");
      await client.end().catch(() => undefined);
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.listenFailures - 1, 5));
      if (this.running) setTimeout(() => void this.listen().catch(() => undefined), delay).unref();
    }
  }
}

const PUBLISH_TIMEOUT_MS = 10_000;

function toEnvelope(row: OutboxRow): EventEnvelope {
  return {
    id: row.id,
    type: row.type,
    version: row.version,
    occurredAt: new Date(row.occurred_at).toISOString(),
    correlationId: row.correlation_id,
    producer: row.producer,
    payload: row.payload,
    ...(row.traceparent ? { traceparent: row.traceparent } : {}),
  };
}

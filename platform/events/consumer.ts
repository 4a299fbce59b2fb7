import { ConnectionException } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { context } from "@opentelemetry/api";

import type { Database } from "../database/database";
import type { Logger } from "../logger";
import { contextFrom, inSpan, SpanKind } from "../tracing";
import {
  type EventDefinition,
  type EventEnvelope,
  InvalidEventPayload,
  type PayloadOf,
  type RetryPolicy,
  type Subscription,
} from "./event-bus";
import type { EventMetrics } from "./event-metrics";
import { stageEvent } from "./outbox";

/** What an event handler works with: one transaction holding the inbox record and the effect. */
export interface ConsumerContext {
  /** The handler's transaction: the effect commits with the inbox record, or neither does. */
  em: EntityManager;
  event: EventEnvelope;
  logger: Logger;
  /** Stages a follow-up event in this transaction's outbox (with the incoming correlation id). */
  emit<D extends EventDefinition>(definition: D, payload: PayloadOf<D>): void;
  /**
   * Work outside the database (sending an e-mail), run once the transaction committed. It must
   * record its own outcome: a redelivered event is recognised as handled and does not run it again.
   */
  afterCommit(task: () => Promise<void>): void;
}

export interface EventHandlerSpec {
  definition: EventDefinition;
  run(payload: unknown, ctx: ConsumerContext): Promise<void>;
}

/** A queue of this subgraph and the events it handles. */
export interface Consumer {
  queue: string;
  eventTypes: readonly string[];
  /**
   * Handlers by event type, then by version. A queue receives every version of the types it lists
   * (bindings are by type), so while a producer moves from v1 to v2 its consumers handle both.
   */
  handlers: ReadonlyMap<string, ReadonlyMap<number, EventHandlerSpec>>;
  retry?: RetryPolicy;
}

/** A typed handler: the payload is validated against the event's schema before it runs. */
export function on<D extends EventDefinition>(
  definition: D,
  handler: (payload: PayloadOf<D>, ctx: ConsumerContext) => Promise<void>,
): EventHandlerSpec {
  return { definition, run: (payload, ctx) => handler(payload as PayloadOf<D>, ctx) };
}

export function consumer(
  queue: string,
  handlers: EventHandlerSpec[],
  options: { retry?: RetryPolicy } = {},
): Consumer {
  const byType = new Map<string, Map<number, EventHandlerSpec>>();
  for (const handler of handlers) {
    const { type, version } = handler.definition;
    const versions = byType.get(type) ?? new Map<number, EventHandlerSpec>();
    if (versions.has(version)) throw new Error(`queue ${queue}: two handlers for ${type} v${version}`);
    byType.set(type, versions.set(version, handler));
  }
  return { queue, eventTypes: [...byType.keys()], handlers: byType, ...options };
}

/**
 * The bus subscription behind a consumer: validates the event (unknown type or version and bad
 * payloads are permanent failures, dead-lettered without retries), then runs the handler in one
 * transaction with an inbox row keyed by (queue, event id) — a redelivered event finds the row and
 * changes nothing. The bus acks only after this resolves.
 */
export function inboxSubscription(
  spec: Consumer,
  services: { db: Database; producer: string; logger: Logger; metrics?: EventMetrics },
): Subscription {
  const { metrics } = services;
  return {
    queue: spec.queue,
    eventTypes: spec.eventTypes,
    ...(spec.retry ? { retry: spec.retry } : {}),
    onFailure: (outcome, type) => count(() => metrics?.failed(spec.queue, type, outcome)),
    handler: async (event) =>
      inSpan(
        `consume ${spec.queue} ${event.type}`,
        event.traceparent ? contextFrom(event.traceparent) : context.active(),
        {
          "messaging.system": "orion",
          "messaging.destination.name": spec.queue,
          "messaging.message.id": event.id,
          "orion.event.type": event.type,
          "orion.correlation_id": event.correlationId,
        },
        SpanKind.CONSUMER,
        () => measured(event),
      ),
  };

  async function measured(event: EventEnvelope): Promise<void> {
    let outcome: "ok" | "duplicate";
    try {
      outcome = await handle(event);
    } catch (error) {
      count(() => metrics?.handled(spec.queue, event.type, "failed"));
      throw error;
    }
    const lagSeconds = (Date.now() - Date.parse(event.occurredAt)) / 1000;
    count(() => metrics?.handled(spec.queue, event.type, outcome, outcome === "ok" ? lagSeconds : undefined));
  }

  async function handle(event: EventEnvelope): Promise<"ok" | "duplicate"> {
    const versions = spec.handlers.get(event.type);
    if (!versions) throw new InvalidEventPayload(`queue ${spec.queue} has no handler for ${event.type}`);
    const handler = versions.get(event.version);
    if (!handler)
      throw new InvalidEventPayload(
        `${event.type} version ${event.version} is not a handled version (${[...versions.keys()].sort((a, b) => a - b).join(", ")})`,
      );
    const parsed = handler.definition.payload.safeParse(event.payload);
    if (!parsed.success) throw new InvalidEventPayload(`${event.type} ${event.id}: ${parsed.error.message}`);
    const logger = services.logger.child({
      correlationId: event.correlationId,
      eventId: event.id,
      queue: spec.queue,
    });
    const afterCommit: (() => Promise<void>)[] = [];
    let duplicate = false;
    await whileDatabaseReachable(logger, () =>
      services.db.orm.em.fork().transactional(async (em) => {
        afterCommit.length = 0;
        const claimed = await em.execute<{ event_id: string }[]>(
          `insert into inbox_events (queue, event_id, type, processed_at) values (?, ?, ?, now())
           on conflict do nothing returning event_id`,
          [spec.queue, event.id, event.type],
        );
        duplicate = claimed.length === 0;
        if (duplicate) {
          logger.debug("event already handled");
          return;
        }
        await handler.run(parsed.data, {
          em,
          event: { ...event, payload: parsed.data },
          logger,
          emit: (definition, payload) =>
            void stageEvent(em, definition, payload, {
              producer: services.producer,
              correlationId: event.correlationId,
            }),
          afterCommit: (task) => afterCommit.push(task),
        });
      }),
    );
    for (const task of afterCommit) {
      await task().catch((error: unknown) => logger.error({ err: error }, "after-commit task failed"));
    }
    logger.info({ type: event.type }, "event handled");
    return duplicate ? "duplicate" : "ok";
  }
}

/** Counting must never change what happens to an event: a metric that throws is ignored. */
function count(observe: () => void): void {
  try {
    observe();
  } catch {
    // A broken metric shows on /metrics; the event's outcome stands.
  }
}

/** How long a handler waits out an unreachable database before its failure counts as an attempt. */
const DATABASE_PATIENCE_MS = 5 * 60_000;

/**
 * Runs the handler's transaction, retrying while the database itself is unreachable (connection
 * refused, dropped, server shutting down). Such a failure says nothing about the event: counted
 * as a bus retry, a few minutes of outage would dead-letter every event in flight. The queue
 * waits instead (nothing behind it could be handled either) and resumes when the database is back.
 */
async function whileDatabaseReachable<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isConnectionFailure(error) || Date.now() - started > DATABASE_PATIENCE_MS) throw error;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt - 1, 7));
      if (attempt === 1) logger.warn({ err: error }, "database unreachable; the queue waits for it");
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export function isConnectionFailure(error: unknown, depth = 0): boolean {
  if (error instanceof ConnectionException) return true;
  if (typeof error !== "object" || error === null || depth > 3) return false;
  const { code, message, previous, cause } = error as {
    code?: unknown;
    message?: unknown;
    previous?: unknown;
    cause?: unknown;
  };
  // Node socket errors, and PostgreSQL's connection-exception class (08), shutdown codes (57P0x)
  // and "too many clients" (53300: the server is full for the moment).
  if (
    typeof code === "string" &&
    /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|57P0[1-3]|08\w{3}|53300)$/.test(code)
  )
    return true;
  // pg and knex report a lost or unobtainable connection with a message only.
  if (
    typeof message === "string" &&
    /Connection terminated|Connection ended unexpectedly|Transaction query already complete|too many clients|connection error|Timeout acquiring a connection|timeout exceeded when trying to connect|ECONNREFUSED|ECONNRESET|socket hang up|the database system is (shutting down|starting up)|terminating connection/i.test(
      message,
    )
  )
    return true;
  // MikroORM wraps driver errors: the cause may be underneath.
  return isConnectionFailure(previous, depth + 1) || isConnectionFailure(cause, depth + 1);
}

import { randomUUID } from "node:crypto";

import type { z } from "zod";

/** What travels on the bus: the payload wrapped with what every consumer needs to trace and dedupe it. */
export interface EventEnvelope<P = unknown> {
  id: string;
  type: string;
  version: number;
  occurredAt: string;
  correlationId: string;
  producer: string;
  payload: P;
  /** W3C trace context of the change that produced the event (absent when nothing was traced). */
  traceparent?: string;
}

/** What a handler is told about the delivery besides the event itself. */
export interface DeliveryInfo {
  /** The subscription queue the event was delivered from. */
  queue: string;
  /** 1 on the first delivery, 2 on the first retry, and so on (travels with the message). */
  attempt: number;
}

export type EventHandler = (event: EventEnvelope, delivery?: DeliveryInfo) => Promise<void>;

export type Unsubscribe = () => Promise<void>;

/**
 * How a failing handler is retried. A handler that throws is given the event again after
 * `delaysMs[0]`, then `delaysMs[1]`, …: `delaysMs.length + 1` attempts in all, after which the event
 * is dead-lettered with the last failure's reason. Other events of the queue are handled while one
 * waits for its retry. An `InvalidEventPayload` (not an envelope, an unknown type or version, a
 * payload failing its schema) is never retried: it cannot succeed, and is dead-lettered at once.
 */
export interface RetryPolicy {
  delaysMs: readonly number[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  delaysMs: Object.freeze([1_000, 5_000, 30_000, 120_000]),
});

export interface Subscription {
  /** Durable queue name, unique per consuming service and purpose, e.g. `notification.welcome`. */
  queue: string;
  /** Routing keys (event types) bound to the queue. */
  eventTypes: readonly string[];
  handler: EventHandler;
  /** Retries before dead-lettering; the bus's default (normally DEFAULT_RETRY_POLICY) when absent. */
  retry?: RetryPolicy;
  /** Told what the bus did with a failed event (metrics); `type` as the message claims it, if any. */
  onFailure?(outcome: "retried" | "dead_lettered", type: string | null): void;
}

/** An event its consuming queue gave up on, kept in that queue's dead-letter queue. */
export interface DeadLetter {
  /** The event id (AMQP messageId); a generated id when the message carried none. */
  id: string;
  /** The event type: the envelope's, else the message's routing key; null when neither is known. */
  type: string | null;
  /** The parsed envelope, or null when the body is not JSON or not an ORION envelope. */
  event: EventEnvelope | null;
  /** The message body as received, as UTF-8 text. */
  body: string;
  /** Why it was dead-lettered: the last handler error, or why the message could not be handled. */
  reason: string;
  /** How many times a handler was given it (1 for a message dead-lettered without retries). */
  attempts: number;
  /** When it was dead-lettered, ISO 8601. */
  deadAt: string;
}

/** The bus cannot reach its broker right now: nothing was published; try again later. */
export class EventBusUnavailable extends Error {
  override name = "EventBusUnavailable";
}

/** A queue name no subscription or declaration ever created on this bus. */
export class UnknownQueue extends Error {
  override name = "UnknownQueue";
}

/**
 * The one interface business code publishes and consumes through. RabbitMQ in production, an
 * in-process implementation on a laptop; both pass the same contract suite.
 */
export interface EventBus {
  /**
   * Resolves only when the event is safely with the broker (publisher confirm). Rejects at once
   * with EventBusUnavailable while the broker is unreachable: the caller (the outbox relay) retries.
   */
  publish(event: EventEnvelope): Promise<void>;
  /**
   * A handler that resolves acks the event; one that throws has it retried after the
   * subscription's delays, then dead-lettered (see RetryPolicy). Returns the way to stop: no new
   * deliveries, and it resolves once the handler in flight has finished, so the caller can then
   * close what the handler uses (its database).
   */
  subscribe(subscription: Subscription): Promise<Unsubscribe>;
  /**
   * The dead letters of a subscription queue, oldest first, left in place (an inspection, not a
   * drain). Rejects with UnknownQueue for a queue that was never declared.
   */
  deadLetters(queue: string): Promise<DeadLetter[]>;
  /**
   * Moves dead letters (all of them, or those whose id is in `ids`) back to the queue they died
   * in, with their attempt count reset; the others stay. Resolves with how many were moved.
   */
  replayDeadLetters(queue: string, ids?: readonly string[]): Promise<number>;
  /** True while the bus can publish and every consumer is running (used by readiness checks). */
  isHealthy(): boolean;
  /** Stops every consumer (waiting for handlers in flight) and disconnects. */
  close(): Promise<void>;
}

export interface EventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  type: T;
  version: number;
  payload: S;
}

export type PayloadOf<D extends EventDefinition> = z.output<D["payload"]>;

export function defineEvent<T extends string, S extends z.ZodType>(
  type: T,
  version: number,
  payload: S,
): EventDefinition<T, S> {
  return { type, version, payload };
}

export function createEnvelope<D extends EventDefinition>(
  definition: D,
  payload: PayloadOf<D>,
  meta: { producer: string; correlationId?: string },
): EventEnvelope<PayloadOf<D>> {
  return {
    id: randomUUID(),
    type: definition.type,
    version: definition.version,
    occurredAt: new Date().toISOString(),
    correlationId: meta.correlationId ?? randomUUID(),
    producer: meta.producer,
    payload: definition.payload.parse(payload) as PayloadOf<D>,
  };
}

/**
 * An event that can never be handled, whatever the number of attempts: not an envelope, a type or
 * version the queue does not handle, a payload failing its schema. The bus dead-letters it at once,
 * without retries. Handlers may throw it for the same reason.
 */
export class InvalidEventPayload extends Error {}

/** No queue is bound for the event's type: refused rather than dropped (the outbox retries it). */
export class EventUnroutable extends Error {
  override name = "EventUnroutable";
}

/** Whether a handler failure is worth retrying (anything but an InvalidEventPayload). */
export function isRetryable(error: unknown): boolean {
  return !(error instanceof InvalidEventPayload);
}

/** Wraps a typed handler: the payload is validated against the event's schema before it runs. */
export function handle<D extends EventDefinition>(
  definition: D,
  handler: (payload: PayloadOf<D>, event: EventEnvelope<PayloadOf<D>>) => Promise<void>,
): { type: D["type"]; handler: EventHandler } {
  return {
    type: definition.type,
    handler: async (event) => {
      if (event.version !== definition.version)
        throw new InvalidEventPayload(
          `${event.type} ${event.id}: version ${event.version} is not the handled version ${definition.version}`,
        );
      const parsed = definition.payload.safeParse(event.payload);
      if (!parsed.success)
        throw new InvalidEventPayload(`${event.type} ${event.id}: ${parsed.error.message}`);
      await handler(parsed.data as PayloadOf<D>, { ...event, payload: parsed.data as PayloadOf<D> });
    },
  };
}

/** One queue serving several event types: routes each event to its typed handler. */
export function subscription(
  queue: string,
  handlers: { type: string; handler: EventHandler }[],
  options: { retry?: RetryPolicy } = {},
): Subscription {
  const byType = new Map(handlers.map((h) => [h.type, h.handler]));
  return {
    queue,
    eventTypes: [...byType.keys()],
    handler: async (event, delivery) => {
      const handler = byType.get(event.type);
      if (!handler) throw new InvalidEventPayload(`queue ${queue} has no handler for ${event.type}`);
      await handler(event, delivery);
    },
    ...(options.retry ? { retry: options.retry } : {}),
  };
}

export function parseEnvelope(raw: unknown): EventEnvelope {
  const e = raw as Partial<EventEnvelope> | null;
  if (
    !e ||
    typeof e.id !== "string" ||
    typeof e.type !== "string" ||
    typeof e.version !== "number" ||
    typeof e.occurredAt !== "string" ||
    typeof e.correlationId !== "string" ||
    typeof e.producer !== "string"
  ) {
    throw new InvalidEventPayload("not an ORION event envelope");
  }
  // A malformed trace context is dropped, never followed.
  if (
    e.traceparent !== undefined &&
    !(typeof e.traceparent === "string" && TRACEPARENT.test(e.traceparent))
  ) {
    const { traceparent: _dropped, ...rest } = e;
    return rest as EventEnvelope;
  }
  return e as EventEnvelope;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

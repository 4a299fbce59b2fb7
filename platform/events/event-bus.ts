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
}

export type EventHandler = (event: EventEnvelope) => Promise<void>;

export type Unsubscribe = () => Promise<void>;

export interface Subscription {
  /** Durable queue name, unique per consuming service and purpose, e.g. `notification.welcome`. */
  queue: string;
  /** Routing keys (event types) bound to the queue. */
  eventTypes: readonly string[];
  handler: EventHandler;
}

/**
 * The one interface business code publishes and consumes through. RabbitMQ in production, an
 * in-process implementation on a laptop; both pass the same contract suite.
 */
export interface EventBus {
  /** Resolves only when the event is safely with the broker (publisher confirm). */
  publish(event: EventEnvelope): Promise<void>;
  /**
   * A handler that resolves acks the event; one that throws dead-letters it. Returns the way to
   * stop: no new deliveries, and it resolves once the handler in flight has finished, so the
   * caller can then close what the handler uses (its database).
   */
  subscribe(subscription: Subscription): Promise<Unsubscribe>;
  /** Dead-lettered events of a queue, oldest first, left in place. */
  deadLetters(queue: string): Promise<EventEnvelope[]>;
  /** True while the bus can publish (used by readiness checks). */
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

export class InvalidEventPayload extends Error {}

/** Wraps a typed handler: the payload is validated against the event's schema before it runs. */
export function handle<D extends EventDefinition>(
  definition: D,
  handler: (payload: PayloadOf<D>, event: EventEnvelope<PayloadOf<D>>) => Promise<void>,
): { type: D["type"]; handler: EventHandler } {
  return {
    type: definition.type,
    handler: async (event) => {
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
): Subscription {
  const byType = new Map(handlers.map((h) => [h.type, h.handler]));
  return {
    queue,
    eventTypes: [...byType.keys()],
    handler: async (event) => {
      const handler = byType.get(event.type);
      if (!handler) throw new Error(`queue ${queue} has no handler for ${event.type}`);
      await handler(event);
    },
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
  return e as EventEnvelope;
}

import type { EntityManager } from "@mikro-orm/postgresql";
import type { Database } from "../database/database";
import type { Logger } from "../logger";
import {
  InvalidEventPayload,
  type EventDefinition,
  type EventEnvelope,
  type PayloadOf,
  type RetryPolicy,
  type Subscription,
} from "./event-bus";
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
  handlers: ReadonlyMap<string, EventHandlerSpec>;
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
  const byType = new Map(handlers.map((handler) => [handler.definition.type, handler]));
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
  services: { db: Database; producer: string; logger: Logger },
): Subscription {
  return {
    queue: spec.queue,
    eventTypes: spec.eventTypes,
    ...(spec.retry ? { retry: spec.retry } : {}),
    handler: async (event) => {
      const handler = spec.handlers.get(event.type);
      if (!handler) throw new InvalidEventPayload(`queue ${spec.queue} has no handler for ${event.type}`);
      if (event.version !== handler.definition.version)
        throw new InvalidEventPayload(
          `${event.type} version ${event.version} is not the handled version ${handler.definition.version}`,
        );
      const parsed = handler.definition.payload.safeParse(event.payload);
      if (!parsed.success)
        throw new InvalidEventPayload(`${event.type} ${event.id}: ${parsed.error.message}`);
      const logger = services.logger.child({
        correlationId: event.correlationId,
        eventId: event.id,
        queue: spec.queue,
      });
      const afterCommit: (() => Promise<void>)[] = [];
      await services.db.orm.em.fork().transactional(async (em) => {
        const claimed = await em.execute<{ event_id: string }[]>(
          `insert into inbox_events (queue, event_id, type, processed_at) values (?, ?, ?, now())
           on conflict do nothing returning event_id`,
          [spec.queue, event.id, event.type],
        );
        if (claimed.length === 0) {
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
      });
      for (const task of afterCommit) {
        await task().catch((error: unknown) => logger.error({ err: error }, "after-commit task failed"));
      }
      logger.info({ type: event.type }, "event handled");
    },
  };
}

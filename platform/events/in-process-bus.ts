import { randomUUID } from "node:crypto";

import type { Logger } from "../logger";
import { decodeBody, envelopeOrNull, failureReason, retryDelays, unboundTypeError } from "./dead-letters";
import {
  type DeadLetter,
  DEFAULT_RETRY_POLICY,
  type EventBus,
  type EventEnvelope,
  EventUnroutable,
  isRetryable,
  type RetryPolicy,
  type Subscription,
  UnknownQueue,
  type Unsubscribe,
} from "./event-bus";

/** A message as a broker holds it: the body as bytes-on-the-wire text, so no two queues share an object. */
interface Message {
  body: string;
  routingKey: string;
  id: string | undefined;
  /** Failed attempts so far (the RabbitMQ bus carries this in a header). */
  failures: number;
}

interface Consumer {
  subscription: Subscription;
  delays: number[];
}

interface Queue {
  name: string;
  eventTypes: Set<string>;
  pending: Message[];
  deadLetters: DeadLetter[];
  consumer?: Consumer;
  /** The running drain, if any: what unsubscribing and closing wait for. */
  drain: Promise<void> | null;
}

export interface InProcessEventBusOptions {
  /** Retries of subscriptions that set none (default DEFAULT_RETRY_POLICY). */
  retry?: RetryPolicy;
}

/**
 * The embedded bus: RabbitMQ's semantics (one copy per bound queue, one delivery at a time per
 * queue, failures retried after delays while the queue keeps flowing, then dead-lettered with their
 * reason) inside the process. Events are not kept across restarts, nor are retries pending at close.
 */
export class InProcessEventBus implements EventBus {
  private readonly queues = new Map<string, Queue>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly defaultRetry: RetryPolicy;
  private closed = false;

  constructor(
    private readonly logger?: Logger,
    options: InProcessEventBusOptions = {},
  ) {
    this.defaultRetry = options.retry ?? DEFAULT_RETRY_POLICY;
    retryDelays(this.defaultRetry);
  }

  async publish(event: EventEnvelope): Promise<void> {
    if (this.closed) throw new Error("event bus is closed");
    // As RabbitMQ's mandatory publish: with no queue bound the event is refused, not dropped.
    if (this.route(event.type, JSON.stringify(event), event.id) === 0)
      throw new EventUnroutable(`no queue is bound for ${event.type}`);
  }

  /**
   * Puts a body on the bus as any producer could, envelope or not, with `routingKey` as its event
   * type: what tests use to show that a malformed message is dead-lettered instead of crashing.
   */
  publishRaw(routingKey: string, body: string): void {
    if (this.closed) throw new Error("event bus is closed");
    this.route(routingKey, body, undefined);
  }

  async subscribe(subscription: Subscription): Promise<Unsubscribe> {
    if (this.closed) throw new Error("event bus is closed");
    const delays = retryDelays(subscription.retry ?? this.defaultRetry);
    const queue = this.queueNamed(subscription.queue);
    for (const type of subscription.eventTypes) queue.eventTypes.add(type);
    queue.consumer = { subscription, delays };
    this.drainSoon(queue);
    return async () => {
      if (queue.consumer?.subscription === subscription) queue.consumer = undefined;
      await queue.drain;
    };
  }

  /** Declares a queue without a consumer, so events wait for it like in a durable broker queue. */
  declareQueue(name: string, eventTypes: readonly string[]): void {
    const queue = this.queueNamed(name);
    for (const type of eventTypes) queue.eventTypes.add(type);
  }

  async deadLetters(name: string): Promise<DeadLetter[]> {
    return structuredClone(this.existingQueue(name).deadLetters);
  }

  async replayDeadLetters(name: string, ids?: readonly string[]): Promise<number> {
    const queue = this.existingQueue(name);
    const wanted = ids ? new Set(ids) : null;
    const replayed = queue.deadLetters.filter((entry) => !wanted || wanted.has(entry.id));
    queue.deadLetters = queue.deadLetters.filter((entry) => !replayed.includes(entry));
    for (const entry of replayed) {
      queue.pending.push({ body: entry.body, routingKey: entry.type ?? "", id: entry.id, failures: 0 });
    }
    this.drainSoon(queue);
    return replayed.length;
  }

  isHealthy(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    for (const queue of this.queues.values()) queue.consumer = undefined;
    await Promise.all([...this.queues.values()].map((queue) => queue.drain));
  }

  /** Returns how many queues took the message. */
  private route(routingKey: string, body: string, id: string | undefined): number {
    let routed = 0;
    // A copy per queue, as a broker would deliver: a handler mutating its event affects no one else.
    for (const queue of this.queues.values()) {
      if (!queue.eventTypes.has(routingKey)) continue;
      queue.pending.push({ body, routingKey, id, failures: 0 });
      this.drainSoon(queue);
      routed++;
    }
    return routed;
  }

  private existingQueue(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new UnknownQueue(`no queue ${name} on this bus (nothing subscribed to or declared it)`);
    return queue;
  }

  private queueNamed(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = { name, eventTypes: new Set(), pending: [], deadLetters: [], drain: null };
      this.queues.set(name, queue);
    }
    return queue;
  }

  private drainSoon(queue: Queue): void {
    if (queue.drain || !queue.consumer) return;
    queue.drain = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain(queue));
  }

  private async drain(queue: Queue): Promise<void> {
    try {
      while (queue.consumer && queue.pending.length > 0) {
        await this.deliver(queue, queue.consumer, queue.pending.shift()!);
      }
    } finally {
      // Cleared in the same step the loop ends in, so a publish right after starts a new drain.
      queue.drain = null;
    }
  }

  private async deliver(queue: Queue, consumer: Consumer, message: Message): Promise<void> {
    const attempt = message.failures + 1;
    let event: EventEnvelope | null = null;
    try {
      event = decodeBody(message.body);
      if (!consumer.subscription.eventTypes.includes(event.type))
        throw unboundTypeError(queue.name, event.type);
      await consumer.subscription.handler(event, { queue: queue.name, attempt });
      return;
    } catch (error) {
      const log = {
        err: error,
        queue: queue.name,
        eventId: event?.id ?? message.id,
        type: event?.type,
        attempt,
      };
      const delay = consumer.delays[attempt - 1];
      if (isRetryable(error) && delay !== undefined) {
        this.logger?.warn({ ...log, retryInMs: delay }, "event handler failed; retrying later");
        consumer.subscription.onFailure?.("retried", event?.type ?? null);
        // The queue goes on meanwhile; the event comes back behind whatever arrived in between.
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          queue.pending.push({ ...message, failures: attempt });
          this.drainSoon(queue);
        }, delay);
        this.retryTimers.add(timer);
        return;
      }
      this.logger?.error(log, "event dead-lettered");
      consumer.subscription.onFailure?.("dead_lettered", event?.type ?? null);
      // Parsed again: the handler may have changed the object it was given.
      const envelope = envelopeOrNull(message.body);
      queue.deadLetters.push({
        id: message.id ?? envelope?.id ?? randomUUID(),
        type: envelope?.type ?? (message.routingKey || null),
        event: envelope,
        body: message.body,
        reason: failureReason(error),
        attempts: attempt,
        deadAt: new Date().toISOString(),
      });
    }
  }
}

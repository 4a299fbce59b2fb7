import type { Logger } from "../logger";
import type { EventBus, EventEnvelope, Subscription, Unsubscribe } from "./event-bus";

interface Queue {
  eventTypes: Set<string>;
  pending: EventEnvelope[];
  deadLetters: EventEnvelope[];
  handler?: Subscription["handler"];
  /** The running drain, if any: what unsubscribing and closing wait for. */
  drain: Promise<void> | null;
}

/**
 * The embedded bus: RabbitMQ's semantics (one copy per bound queue, one delivery at a time per
 * queue, failures dead-lettered) inside the process. Events are not kept across restarts.
 */
export class InProcessEventBus implements EventBus {
  private readonly queues = new Map<string, Queue>();
  private closed = false;

  constructor(private readonly logger?: Logger) {}

  async publish(event: EventEnvelope): Promise<void> {
    if (this.closed) throw new Error("event bus is closed");
    // A copy per queue, as a broker would deliver: a handler mutating its event affects no one else.
    const body = JSON.stringify(event);
    for (const [, queue] of this.queues) {
      if (!queue.eventTypes.has(event.type)) continue;
      queue.pending.push(JSON.parse(body) as EventEnvelope);
      this.drainSoon(queue);
    }
  }

  async subscribe({ queue: name, eventTypes, handler }: Subscription): Promise<Unsubscribe> {
    const queue = this.queueNamed(name);
    for (const type of eventTypes) queue.eventTypes.add(type);
    queue.handler = handler;
    this.drainSoon(queue);
    return async () => {
      if (queue.handler === handler) queue.handler = undefined;
      await queue.drain;
    };
  }

  /** Declares a queue without a consumer, so events wait for it like in a durable broker queue. */
  declareQueue(name: string, eventTypes: readonly string[]): void {
    const queue = this.queueNamed(name);
    for (const type of eventTypes) queue.eventTypes.add(type);
  }

  async deadLetters(name: string): Promise<EventEnvelope[]> {
    return [...(this.queues.get(name)?.deadLetters ?? [])];
  }

  isHealthy(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const queue of this.queues.values()) queue.handler = undefined;
    await Promise.all([...this.queues.values()].map((queue) => queue.drain));
  }

  private queueNamed(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = { eventTypes: new Set(), pending: [], deadLetters: [], drain: null };
      this.queues.set(name, queue);
    }
    return queue;
  }

  private drainSoon(queue: Queue): void {
    if (queue.drain || !queue.handler) return;
    queue.drain = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain(queue));
  }

  private async drain(queue: Queue): Promise<void> {
    try {
      while (queue.handler && queue.pending.length > 0) {
        const event = queue.pending.shift()!;
        try {
          await queue.handler(event);
        } catch (error) {
          this.logger?.error(
            { err: error, eventId: event.id, type: event.type },
            "event handler failed; dead-lettered",
          );
          queue.deadLetters.push(event);
        }
      }
    } finally {
      // Cleared in the same step the loop ends in, so a publish right after starts a new drain.
      queue.drain = null;
    }
  }
}

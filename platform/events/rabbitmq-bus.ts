import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import type { Logger } from "../logger";
import {
  parseEnvelope,
  type EventBus,
  type EventEnvelope,
  type Subscription,
  type Unsubscribe,
} from "./event-bus";

export interface RabbitMqOptions {
  url: string;
  /** Durable topic exchange every event is published to; queues are named after it. */
  exchange: string;
  prefetch?: number;
  logger: Logger;
}

/**
 * RabbitMQ adapter: one durable topic exchange keyed by event type, a durable queue per
 * subscription with a dead-letter queue beside it, publisher confirms, manual acks after the
 * handler resolves. Reconnection comes with the events issue; until then a lost connection
 * marks the bus unhealthy so readiness fails instead of events vanishing silently.
 */
export class RabbitMqEventBus implements EventBus {
  private healthy = true;
  private readonly consumers = new Set<Unsubscribe>();

  private constructor(
    private readonly connection: ChannelModel,
    private readonly publishChannel: ConfirmChannel,
    private readonly options: RabbitMqOptions,
  ) {
    connection.on("error", (error: Error) =>
      options.logger.error({ err: error }, "RabbitMQ connection error"),
    );
    connection.on("close", () => {
      this.healthy = false;
      options.logger.warn("RabbitMQ connection closed");
    });
    publishChannel.on("error", (error: Error) =>
      options.logger.error({ err: error }, "RabbitMQ publish channel error"),
    );
  }

  static async connect(options: RabbitMqOptions): Promise<RabbitMqEventBus> {
    const connection = await amqp.connect(options.url, { timeout: 5000 });
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertExchange(options.exchange, "topic", { durable: true });
      await channel.assertExchange(deadLetterExchange(options.exchange), "direct", { durable: true });
      return new RabbitMqEventBus(connection, channel, options);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  async publish(event: EventEnvelope): Promise<void> {
    const body = Buffer.from(JSON.stringify(event));
    await new Promise<void>((resolve, reject) => {
      this.publishChannel.publish(
        this.options.exchange,
        event.type,
        body,
        {
          persistent: true,
          contentType: "application/json",
          messageId: event.id,
          type: event.type,
          correlationId: event.correlationId,
          timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
          appId: event.producer,
        },
        (error: unknown) =>
          error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
      );
    });
  }

  async subscribe({ queue, eventTypes, handler }: Subscription): Promise<Unsubscribe> {
    const channel = await this.connection.createChannel();
    channel.on("error", (error: Error) =>
      this.options.logger.error({ err: error, queue }, "RabbitMQ consumer channel error"),
    );
    const name = await this.declareQueue(channel, queue, eventTypes);
    await channel.prefetch(this.options.prefetch ?? 16);
    // Prefetched messages are handled one after another, in order, as the in-process bus does:
    // a handler never races itself on the same queue.
    let previous: Promise<void> = Promise.resolve();
    const { consumerTag } = await channel.consume(
      name,
      (message) => {
        if (message) previous = previous.then(() => this.deliver(channel, message, handler, queue));
      },
      { noAck: false },
    );
    const unsubscribe = async () => {
      this.consumers.delete(unsubscribe);
      await channel.cancel(consumerTag).catch(() => undefined);
      // Read after the cancel: nothing more can be chained. Unsettled prefetched messages go back
      // to the queue when the channel closes.
      await previous;
      await channel.close().catch(() => undefined);
    };
    this.consumers.add(unsubscribe);
    return unsubscribe;
  }

  async deadLetters(queue: string): Promise<EventEnvelope[]> {
    const channel = await this.connection.createChannel();
    const events: EventEnvelope[] = [];
    try {
      for (;;) {
        const message = await channel.get(deadLetterQueueName(this.queueName(queue)), { noAck: false });
        if (!message) break;
        events.push(parseEnvelope(JSON.parse(message.content.toString("utf8"))));
      }
    } finally {
      // Closing without acking puts every message back where it was: this is a read, not a drain.
      await channel.close().catch(() => undefined);
    }
    return events;
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  async close(): Promise<void> {
    this.healthy = false;
    await Promise.all([...this.consumers].map((unsubscribe) => unsubscribe()));
    await this.publishChannel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }

  /** Declares the queue, its dead-letter queue and bindings; returns the broker-side queue name. */
  async declareQueue(channel: Channel, queue: string, eventTypes: readonly string[]): Promise<string> {
    const name = this.queueName(queue);
    const deadLetters = deadLetterQueueName(name);
    await channel.assertQueue(deadLetters, { durable: true });
    await channel.bindQueue(deadLetters, deadLetterExchange(this.options.exchange), deadLetters);
    await channel.assertQueue(name, {
      durable: true,
      arguments: {
        "x-dead-letter-exchange": deadLetterExchange(this.options.exchange),
        "x-dead-letter-routing-key": deadLetters,
      },
    });
    for (const type of eventTypes) await channel.bindQueue(name, this.options.exchange, type);
    return name;
  }

  queueName(queue: string): string {
    return `${this.options.exchange}.${queue}`;
  }

  private async deliver(
    channel: Channel,
    message: ConsumeMessage,
    handler: Subscription["handler"],
    queue: string,
  ) {
    let handled = false;
    try {
      const event = parseEnvelope(JSON.parse(message.content.toString("utf8")));
      await handler(event);
      handled = true;
    } catch (error) {
      this.options.logger.error(
        { err: error, queue, messageId: message.properties.messageId },
        "event handler failed; dead-lettered",
      );
    }
    try {
      if (handled) channel.ack(message);
      else channel.nack(message, false, false);
    } catch (error) {
      // The channel closed meanwhile (shutdown, broker restart): the broker redelivers the unacked message.
      this.options.logger.warn(
        { err: error, queue, messageId: message.properties.messageId },
        "could not settle message",
      );
    }
  }
}

const deadLetterExchange = (exchange: string) => `${exchange}.dead-letter`;
const deadLetterQueueName = (queue: string) => `${queue}.dead`;

import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";

import type { Logger } from "../logger";
import { retryDelays } from "./dead-letters";
import {
  type DeadLetter,
  DEFAULT_RETRY_POLICY,
  type EventBus,
  EventBusUnavailable,
  type EventEnvelope,
  type RetryPolicy,
  type Subscription,
  type Unsubscribe,
} from "./event-bus";
import { openConnection, reconnectDelay } from "./rabbitmq/connection";
import { type DeadLetterSource, readDeadLetters, replayDeadLetters } from "./rabbitmq/dead-letter-queue";
import { type ActiveConsumer, deliver, type DeliveryContext } from "./rabbitmq/delivery";
import type { RabbitMqOptions } from "./rabbitmq/options";
import { publishEvent } from "./rabbitmq/publishing";
import { declareExchanges, declareQueue } from "./rabbitmq/topology";

export type { RabbitMqOptions } from "./rabbitmq/options";

const noop = () => undefined;

/**
 * RabbitMQ adapter: publisher confirms, manual acks after the handler resolves, a prefetch; the
 * broker-side layout is in rabbitmq/topology.ts, delivery and retries in rabbitmq/delivery.ts.
 *
 * The connection is watched (heartbeats, close and error events, broker-cancelled consumers): on
 * any loss the bus reports unhealthy, refuses to publish, reconnects with backoff, declares its
 * topology again and resumes every consumer.
 */
export class RabbitMqEventBus implements EventBus {
  private connection: ChannelModel | null = null;
  private publishChannel: ConfirmChannel | null = null;
  private healthy = false;
  private closed = false;
  private readonly consumers = new Set<ActiveConsumer>();
  /** Connecting and starting consumers run one at a time, so a subscribe never races a reconnect. */
  private lifecycle: Promise<unknown> = Promise.resolve();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectAttempt = 0;
  private readonly defaultRetry: RetryPolicy;
  private readonly logger: Logger;
  private readonly delivery: DeliveryContext;

  private constructor(private readonly options: RabbitMqOptions) {
    this.logger = options.logger;
    this.defaultRetry = options.retry ?? DEFAULT_RETRY_POLICY;
    retryDelays(this.defaultRetry);
    this.delivery = {
      exchange: options.exchange,
      logger: options.logger,
      recover: (reason) => this.recover(reason),
    };
  }

  /** Connects (failing if the broker cannot be reached now); from then on the bus reconnects by itself. */
  static async connect(options: RabbitMqOptions): Promise<RabbitMqEventBus> {
    const bus = new RabbitMqEventBus(options);
    await bus.exclusive(() => bus.open());
    return bus;
  }

  async publish(event: EventEnvelope): Promise<void> {
    if (this.closed) throw new EventBusUnavailable("event bus is closed");
    const channel = this.publishChannel;
    if (!channel) throw new EventBusUnavailable("RabbitMQ is unreachable; nothing was published");
    await publishEvent(channel, this.options.exchange, event);
  }

  async subscribe(subscription: Subscription): Promise<Unsubscribe> {
    if (this.closed) throw new Error("event bus is closed");
    const consumer: ActiveConsumer = {
      subscription,
      name: this.queueName(subscription.queue),
      delays: retryDelays(subscription.retry ?? this.defaultRetry),
      channel: null,
      consumerTag: null,
      chain: Promise.resolve(),
      stopped: false,
    };
    await this.exclusive(async () => {
      this.consumers.add(consumer);
      // While disconnected the consumer is only registered: the reconnection starts it.
      if (!this.connection || !this.healthy) return;
      try {
        await this.startConsumer(this.connection, consumer);
      } catch (error) {
        this.consumers.delete(consumer);
        throw error;
      }
    });
    return () => this.stopConsumer(consumer);
  }

  async deadLetters(queue: string): Promise<DeadLetter[]> {
    return this.withChannel((channel) => readDeadLetters(this.deadLetterSource(channel, queue)));
  }

  async replayDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    return this.withChannel((channel) => replayDeadLetters(this.deadLetterSource(channel, queue), ids));
  }

  isHealthy(): boolean {
    return this.healthy && !this.closed;
  }

  /** Stops every consumer (waiting for handlers in flight) and disconnects; works while disconnected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.healthy = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    await this.lifecycle; // a connection attempt in progress sees `closed` and undoes itself
    await Promise.all([...this.consumers].map((consumer) => this.stopConsumer(consumer)));
    const { publishChannel, connection } = this;
    this.publishChannel = null;
    this.connection = null;
    await publishChannel?.close().catch(noop);
    await connection?.close().catch(noop);
  }

  /** The broker-side name of a subscription queue. */
  queueName(queue: string): string {
    return `${this.options.exchange}.${queue}`;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(task, task);
    this.lifecycle = run.catch(noop);
    return run;
  }

  /** Connects, declares the exchanges, starts every registered consumer; all or nothing. */
  private async open(): Promise<void> {
    if (this.closed) throw new EventBusUnavailable("event bus is closed");
    if (this.connection) return;
    const connection = await openConnection(this.options, (lost, error) => this.connectionLost(lost, error));
    this.connection = connection;
    try {
      const publishChannel = await connection.createConfirmChannel();
      // Each mandatory publish in flight listens for its own return: a relay batch is hundreds.
      publishChannel.setMaxListeners(0);
      this.watch(connection, publishChannel, "publish channel", () => this.publishChannel === publishChannel);
      await declareExchanges(publishChannel, this.options.exchange, this.options.passive ?? false);
      for (const consumer of this.consumers) await this.startConsumer(connection, consumer);
      if (this.closed || this.connection !== connection)
        throw new EventBusUnavailable("connection lost or bus closed while setting up");
      this.publishChannel = publishChannel;
      this.healthy = true;
    } catch (error) {
      if (this.connection === connection) this.detach();
      await connection.close().catch(noop);
      throw error;
    }
  }

  /** Forgets the current connection and every channel on it. */
  private detach(): void {
    this.connection = null;
    this.publishChannel = null;
    this.healthy = false;
    for (const consumer of this.consumers) {
      consumer.channel = null;
      consumer.consumerTag = null;
    }
  }

  private connectionLost(connection: ChannelModel, error: Error | undefined): void {
    if (connection !== this.connection) return;
    this.detach();
    if (this.closed) return;
    this.logger.error({ err: error }, "RabbitMQ connection lost; reconnecting");
    this.scheduleReconnect();
  }

  /**
   * A channel closed under us (a protocol error, a deleted queue or exchange): the connection is
   * closed too, and the reconnection declares the whole topology again and resumes everything.
   */
  private recover(reason: string): void {
    const connection = this.connection;
    if (!connection || this.closed) return;
    this.logger.error({ reason }, "RabbitMQ channel lost; reconnecting");
    // Forgotten first, so the other channels closing with it are not taken for more failures.
    this.detach();
    void connection.close().catch(noop);
    this.scheduleReconnect();
  }

  private watch(connection: ChannelModel, channel: Channel, what: string, isCurrent: () => boolean): void {
    channel.on("error", (error: Error) => this.logger.warn({ err: error }, `RabbitMQ ${what} error`));
    channel.on("close", () => {
      // Checked a turn later: when the whole connection went, its own 'close' says so first.
      setImmediate(() => {
        if (this.connection === connection && isCurrent()) this.recover(`${what} closed`);
      });
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = reconnectDelay(this.reconnectAttempt, this.options.reconnect);
    const attempt = ++this.reconnectAttempt;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.exclusive(() => this.open()).then(
        () => {
          this.reconnectAttempt = 0;
          this.logger.info({ attempt, consumers: this.consumers.size }, "RabbitMQ reconnected");
        },
        (error: unknown) => {
          if (this.closed) return;
          this.logger.warn({ err: error, attempt }, "RabbitMQ reconnection failed; trying again");
          this.scheduleReconnect();
        },
      );
    }, delay);
  }

  private async startConsumer(connection: ChannelModel, consumer: ActiveConsumer): Promise<void> {
    const { queue, eventTypes } = consumer.subscription;
    const channel = await connection.createConfirmChannel();
    this.watch(connection, channel, `consumer channel of ${queue}`, () => consumer.channel === channel);
    try {
      await declareQueue(channel, {
        exchange: this.options.exchange,
        name: consumer.name,
        delays: consumer.delays,
        eventTypes: consumer.subscription.eventTypes,
      });
      await channel.prefetch(this.options.prefetch ?? 16);
      if (consumer.stopped) throw new Error(`unsubscribed from ${queue} while starting`);
      consumer.channel = channel; // before consuming: the first delivery checks it
      const { consumerTag } = await channel.consume(
        consumer.name,
        (message) => {
          if (!message) {
            // The broker cancelled the consumer (its queue was deleted): declare it again.
            if (consumer.channel === channel) this.recover(`the broker cancelled the consumer of ${queue}`);
            return;
          }
          consumer.chain = consumer.chain
            .then(() => deliver(this.delivery, consumer, channel, message))
            .catch((error: unknown) => this.logger.error({ err: error, queue }, "event delivery failed"));
        },
        { noAck: false },
      );
      consumer.consumerTag = consumerTag;
      this.logger.debug({ queue, eventTypes }, "consuming");
    } catch (error) {
      if (consumer.channel === channel) consumer.channel = null;
      await channel.close().catch(noop);
      if (consumer.stopped) return;
      throw error;
    }
  }

  private async stopConsumer(consumer: ActiveConsumer): Promise<void> {
    consumer.stopped = true;
    this.consumers.delete(consumer);
    const { channel, consumerTag } = consumer;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(noop);
    // The handler in flight finishes and settles; prefetched deliveries behind it are skipped and
    // go back to the queue when the channel closes.
    await consumer.chain;
    consumer.channel = null;
    await channel?.close().catch(noop);
  }

  private deadLetterSource(channel: ConfirmChannel, queue: string): DeadLetterSource {
    return { channel, exchange: this.options.exchange, name: this.queueName(queue), queue };
  }

  /** A short-lived channel of its own for an operator's request, so its errors touch nothing else. */
  private async withChannel<T>(use: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
    const connection = this.connection;
    if (this.closed) throw new EventBusUnavailable("event bus is closed");
    if (!connection || !this.healthy) throw new EventBusUnavailable("RabbitMQ is unreachable");
    const channel = await connection.createConfirmChannel();
    channel.on("error", (error: Error) => this.logger.debug({ err: error }, "RabbitMQ channel error"));
    try {
      return await use(channel);
    } finally {
      await channel.close().catch(noop);
    }
  }
}

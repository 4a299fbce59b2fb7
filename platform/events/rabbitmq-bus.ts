import { createHash, randomUUID } from "node:crypto";
import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type Message,
  type MessagePropertyHeaders,
  type Options,
} from "amqplib";
import type { Logger } from "../logger";
import {
  decodeBody,
  envelopeOrNull,
  failureReason,
  HEADERS,
  retryDelays,
  unboundTypeError,
} from "./dead-letters";
import {
  DEFAULT_RETRY_POLICY,
  EventBusUnavailable,
  EventUnroutable,
  isRetryable,
  UnknownQueue,
  type DeadLetter,
  type EventBus,
  type EventEnvelope,
  type RetryPolicy,
  type Subscription,
  type Unsubscribe,
} from "./event-bus";

export interface RabbitMqOptions {
  url: string;
  /** Durable topic exchange every event is published to; queues are named after it. */
  exchange: string;
  /** Unacknowledged deliveries the broker sends a consumer ahead (default 16). */
  prefetch?: number;
  logger: Logger;
  /** Retries of subscriptions that set none (default DEFAULT_RETRY_POLICY). */
  retry?: RetryPolicy;
  /**
   * AMQP heartbeat (default 10 s): a connection that goes silent (a dead peer, a dropped network
   * path) is declared lost after about two intervals. A `heartbeat` in the URL wins.
   */
  heartbeatSeconds?: number;
  /** Backoff between reconnection attempts: doubling from `initialDelayMs` (100) up to `maxDelayMs` (5000). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** How long one connection attempt may take (default 5000 ms). */
  connectTimeoutMs?: number;
  /** The name the broker shows for this connection (management UI, `rabbitmqctl list_connections`). */
  connectionName?: string;
  /**
   * Only check that the exchanges exist, never create them (operator tools: a mistyped exchange
   * name fails instead of leaving an empty exchange behind).
   */
  passive?: boolean;
}

/** One subscription of this bus, kept across reconnects. */
interface ActiveConsumer {
  subscription: Subscription;
  /** The broker-side queue name. */
  name: string;
  delays: number[];
  /** The channel consuming now; null while disconnected. */
  channel: ConfirmChannel | null;
  consumerTag: string | null;
  /** Deliveries, handled one after another across reconnects: a handler never races itself. */
  chain: Promise<void>;
  stopped: boolean;
}

const noop = () => undefined;

/**
 * RabbitMQ adapter: one durable topic exchange keyed by event type; per subscription a durable
 * queue, its dead-letter queue `<queue>.dead` and a retry queue `<queue>.retry.<n>` per retry
 * (messages wait there for their delay, then the broker dead-letters them back to the queue through
 * the default exchange). Publisher confirms, manual acks after the handler resolves, a prefetch.
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

  private constructor(private readonly options: RabbitMqOptions) {
    this.logger = options.logger;
    this.defaultRetry = options.retry ?? DEFAULT_RETRY_POLICY;
    retryDelays(this.defaultRetry);
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
    // Mandatory: an event no queue is bound for (its consumers have not declared their queues yet)
    // is returned and fails here, so the outbox keeps it instead of the broker dropping it.
    await routed(channel, this.options.exchange, event.type, Buffer.from(JSON.stringify(event)), {
      persistent: true,
      contentType: "application/json",
      messageId: event.id,
      type: event.type,
      correlationId: event.correlationId,
      timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
      appId: event.producer,
      // The W3C trace context travels in the AMQP headers too, for tools that read only those.
      ...(event.traceparent ? { headers: { traceparent: event.traceparent } } : {}),
    });
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
    const deadLetterQueue = deadLetterQueueName(this.queueName(queue));
    return this.withChannel(async (channel) => {
      const count = await this.countReady(channel, deadLetterQueue, queue);
      const entries: DeadLetter[] = [];
      // At most the messages there when we looked; closing the channel without acking puts every
      // one back where it was: this is a read, not a drain.
      for (let i = 0; i < count; i++) {
        const message = await channel.get(deadLetterQueue, { noAck: false });
        if (!message) break;
        entries.push(toDeadLetter(message));
      }
      return entries;
    });
  }

  async replayDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    const name = this.queueName(queue);
    const deadLetterQueue = deadLetterQueueName(name);
    const wanted = ids ? new Set(ids) : null;
    return this.withChannel(async (channel) => {
      await this.countReady(channel, name, queue);
      // Bounded by what was there when we looked: a replayed event that dies again at once is
      // appended behind, and is not replayed a second time.
      const count = await this.countReady(channel, deadLetterQueue, queue);
      let replayed = 0;
      for (let i = 0; i < count; i++) {
        const message = await channel.get(deadLetterQueue, { noAck: false });
        if (!message) break;
        const entry = toDeadLetter(message);
        if (wanted && !wanted.has(entry.id)) continue; // unacked: back in place when the channel closes
        await routed(channel, "", name, message.content, {
          ...carriedProperties(message),
          messageId: entry.id,
          headers: carriedHeaders(message), // attempts reset: no x-orion-attempts
        });
        channel.ack(message);
        replayed++;
      }
      return replayed;
    });
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
    const connection = await amqp.connect(this.connectionUrl(), {
      timeout: this.options.connectTimeoutMs ?? 5000,
      clientProperties: { connection_name: this.options.connectionName ?? `orion ${this.options.exchange}` },
    });
    // Listeners first: an 'error' without one would crash the process.
    connection.on("error", (error: Error) => this.logger.warn({ err: error }, "RabbitMQ connection error"));
    connection.on("close", (error?: Error) => this.connectionLost(connection, error));
    connection.on("blocked", (reason: string) =>
      this.logger.warn({ reason }, "RabbitMQ blocked publishing (resource alarm)"),
    );
    connection.on("unblocked", () => this.logger.info("RabbitMQ unblocked publishing"));
    this.connection = connection;
    try {
      const publishChannel = await connection.createConfirmChannel();
      // Each mandatory publish in flight listens for its own return: a relay batch is hundreds.
      publishChannel.setMaxListeners(0);
      this.watch(connection, publishChannel, "publish channel", () => this.publishChannel === publishChannel);
      if (this.options.passive) {
        await publishChannel.checkExchange(this.options.exchange).catch((error: unknown) => {
          throw (error as { code?: number }).code === 404
            ? new UnknownQueue(`no exchange ${this.options.exchange} on this broker`)
            : error;
        });
      } else {
        await publishChannel.assertExchange(this.options.exchange, "topic", { durable: true });
        await publishChannel.assertExchange(deadLetterExchange(this.options.exchange), "direct", {
          durable: true,
        });
      }
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

  private connectionUrl(): string {
    const url = new URL(this.options.url);
    if (!url.searchParams.has("heartbeat"))
      url.searchParams.set("heartbeat", String(this.options.heartbeatSeconds ?? 10));
    return url.toString();
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
    const { initialDelayMs = 100, maxDelayMs = 5000 } = this.options.reconnect ?? {};
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(this.reconnectAttempt, 30));
    const delay = Math.round(base * (0.75 + Math.random() * 0.25)); // jitter, never above the cap
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
      await this.declareTopology(channel, consumer);
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
            .then(() => this.deliver(consumer, channel, message))
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

  /** The queue, its dead-letter queue, its retry queues and bindings. */
  private async declareTopology(channel: Channel, consumer: ActiveConsumer): Promise<void> {
    const { name, delays } = consumer;
    const deadLetters = deadLetterQueueName(name);
    await channel.assertQueue(deadLetters, { durable: true });
    await channel.bindQueue(deadLetters, deadLetterExchange(this.options.exchange), deadLetters);
    // Arguments unchanged since the first version: a durable queue cannot be re-declared with others.
    await channel.assertQueue(name, {
      durable: true,
      arguments: {
        "x-dead-letter-exchange": deadLetterExchange(this.options.exchange),
        "x-dead-letter-routing-key": deadLetters,
      },
    });
    // The delay is each message's expiration, not a queue argument: changing a subscription's
    // delays then needs no queue to be deleted. Each retry queue holds one step, so every message in
    // it has the same delay and the one at the head always expires first.
    for (let n = 1; n <= delays.length; n++) {
      await channel.assertQueue(retryQueueName(name, n), {
        durable: true,
        arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": name },
      });
    }
    for (const type of consumer.subscription.eventTypes) {
      await channel.bindQueue(name, this.options.exchange, type);
    }
  }

  private async deliver(consumer: ActiveConsumer, channel: ConfirmChannel, message: Message): Promise<void> {
    // From a channel that is gone (a reconnection happened) or after unsubscribing: the broker
    // delivers it again, to the next consumer.
    if (consumer.stopped || consumer.channel !== channel) return;
    const { queue } = consumer.subscription;
    const attempt = failedAttempts(message) + 1;
    const body = message.content.toString("utf8");
    let failure: { error: unknown } | null = null;
    let event: EventEnvelope | null = null;
    try {
      event = decodeBody(body);
      if (!consumer.subscription.eventTypes.includes(event.type)) throw unboundTypeError(queue, event.type);
      await consumer.subscription.handler(event, { queue, attempt });
    } catch (error) {
      failure = { error };
    }
    // A message published without a type property (not by this bus) keeps its routing key as its
    // type: after a retry or in the dead-letter queue, the routing key is a queue name.
    const properties = carriedProperties(message);
    if (properties.type === undefined && message.fields.exchange === this.options.exchange)
      properties.type = message.fields.routingKey;
    const log = {
      queue,
      eventId: message.properties.messageId as string | undefined,
      type: event?.type ?? properties.type,
      attempt,
    };
    try {
      if (failure) {
        const reason = failureReason(failure.error);
        const delay = consumer.delays[attempt - 1];
        if (isRetryable(failure.error) && delay !== undefined) {
          this.logger.warn(
            { ...log, err: failure.error, retryInMs: delay },
            "event handler failed; retrying later",
          );
          consumer.subscription.onFailure?.("retried", event?.type ?? null);
          await routed(channel, "", retryQueueName(consumer.name, attempt), message.content, {
            ...properties,
            expiration: String(delay),
            headers: { ...carriedHeaders(message), [HEADERS.attempts]: attempt, [HEADERS.reason]: reason },
          });
        } else {
          this.logger.error({ ...log, err: failure.error }, "event dead-lettered");
          consumer.subscription.onFailure?.("dead_lettered", event?.type ?? null);
          await routed(
            channel,
            deadLetterExchange(this.options.exchange),
            deadLetterQueueName(consumer.name),
            message.content,
            {
              ...properties,
              messageId:
                (message.properties.messageId as string | undefined) ??
                envelopeOrNull(body)?.id ??
                randomUUID(),
              headers: {
                ...carriedHeaders(message),
                [HEADERS.attempts]: attempt,
                [HEADERS.reason]: reason,
                [HEADERS.deadAt]: new Date().toISOString(),
                [HEADERS.queue]: queue,
              },
            },
          );
        }
      }
      // Only once the retry or dead letter is confirmed: a crash in between redelivers, never loses.
      channel.ack(message);
    } catch (error) {
      // Unsettled, the message goes back to the queue when the channel closes (shutdown, a lost
      // connection); a missing retry or dead-letter queue is declared again by reconnecting.
      this.logger.warn({ ...log, err: error }, "could not settle message; the broker will deliver it again");
      if (error instanceof Unroutable && consumer.channel === channel) this.recover(error.message);
    }
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

  /** Ready messages in a broker queue; UnknownQueue when it does not exist. */
  private async countReady(channel: Channel, brokerQueue: string, queue: string): Promise<number> {
    try {
      return (await channel.checkQueue(brokerQueue)).messageCount;
    } catch (error) {
      if ((error as { code?: number }).code === 404)
        throw new UnknownQueue(
          `no queue ${queue} on exchange ${this.options.exchange} (${brokerQueue} does not exist)`,
        );
      throw error;
    }
  }
}

/** A message the broker could not route (mandatory publish returned): its queue is missing. */
const Unroutable = EventUnroutable;

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Publishes and resolves once the broker confirmed it. */
function confirmed(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      channel.publish(exchange, routingKey, content, options, (error: unknown) =>
        error ? reject(toError(error)) : resolve(),
      );
    } catch (error) {
      reject(toError(error)); // the channel is closed
    }
  });
}

/** Publishes to a queue that must exist: rejects with Unroutable when the broker returns it. */
async function routed(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  let returned = false;
  // The broker sends the return before the confirm of the same message.
  const onReturn = (message: Message) => {
    if (message.fields.routingKey === routingKey && message.properties.messageId === options.messageId)
      returned = true;
  };
  channel.on("return", onReturn);
  try {
    await confirmed(channel, exchange, routingKey, content, { ...options, mandatory: true });
  } finally {
    channel.off("return", onReturn);
  }
  if (returned) throw new Unroutable(`no queue took the message routed to ${routingKey}`);
}

/** The properties a retried, dead-lettered or replayed message keeps. */
function carriedProperties(message: Message): Options.Publish {
  const p = message.properties;
  const properties: Options.Publish = { persistent: true };
  if (p.contentType !== undefined) properties.contentType = p.contentType as string;
  if (p.contentEncoding !== undefined) properties.contentEncoding = p.contentEncoding as string;
  if (p.messageId !== undefined) properties.messageId = p.messageId as string;
  if (p.type !== undefined) properties.type = p.type as string;
  if (p.correlationId !== undefined) properties.correlationId = p.correlationId as string;
  if (p.timestamp !== undefined) properties.timestamp = p.timestamp as number;
  if (p.appId !== undefined) properties.appId = p.appId as string;
  return properties;
}

/** A message's own headers, without the broker's dead-letter history and our failure bookkeeping. */
function carriedHeaders(message: Message): MessagePropertyHeaders {
  const headers: MessagePropertyHeaders = {};
  for (const [key, value] of Object.entries(message.properties.headers ?? {})) {
    if (key.startsWith("x-death") || key.startsWith("x-first-death") || key.startsWith("x-last-death"))
      continue;
    if ((Object.values(HEADERS) as string[]).includes(key)) continue;
    headers[key] = value;
  }
  return headers;
}

function failedAttempts(message: Message): number {
  const value = Number(message.properties.headers?.[HEADERS.attempts] ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

function toDeadLetter(message: Message): DeadLetter {
  const headers = message.properties.headers ?? {};
  const body = message.content.toString("utf8");
  const event = envelopeOrNull(body);
  // Dead-lettered by the broker itself (a rejection before retries existed): its x-death record.
  const death = headers["x-death"]?.[0];
  const time: unknown = death?.time;
  const deathTime = typeof time === "number" ? time : (time as { value?: unknown } | undefined)?.value;
  return {
    // A message with neither a messageId nor an envelope: an id from its body, stable across listings.
    id:
      (message.properties.messageId as string | undefined) ??
      event?.id ??
      `body-${createHash("sha256").update(message.content).digest("hex").slice(0, 16)}`,
    type:
      event?.type ?? (message.properties.type as string | undefined) ?? death?.["routing-keys"]?.[0] ?? null,
    event,
    body,
    reason:
      typeof headers[HEADERS.reason] === "string"
        ? (headers[HEADERS.reason] as string)
        : death
          ? `${death.reason} by the broker`
          : "unknown",
    attempts: Number(headers[HEADERS.attempts] ?? death?.count ?? 1),
    deadAt:
      typeof headers[HEADERS.deadAt] === "string"
        ? (headers[HEADERS.deadAt] as string)
        : new Date(typeof deathTime === "number" ? deathTime * 1000 : 0).toISOString(),
  };
}

const deadLetterExchange = (exchange: string) => `${exchange}.dead-letter`;
const deadLetterQueueName = (queue: string) => `${queue}.dead`;
const retryQueueName = (queue: string, attempt: number) => `${queue}.retry.${attempt}`;

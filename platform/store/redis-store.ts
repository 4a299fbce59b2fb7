import { type RateLimiterAbstract, RateLimiterRedis } from "rate-limiter-flexible";
import { createClient, type RedisClientType, RESP_TYPES } from "redis";

import type { Logger } from "../logger";
import { type KeyValueStore, type RateLimiterOptions, rateLimiterRegistry } from "./key-value-store";
import {
  isCommandTimeout,
  limiterWithinBudget,
  RedisUnavailableError,
  shutDown,
  withDeadline,
} from "./redis-failures";

/** How long subscribe() waits for the subscriber connection the first time it is opened. */
const SUBSCRIBER_CONNECT_TIMEOUT_MS = 5000;
/**
 * Every command gets this long by default: Redis answers in well under a millisecond, so a slow one
 * means a sick server or network, and a request waiting on it would only pile up behind it.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
/** Commands waiting to be written or answered, at most: past it new ones fail at once. */
const MAX_PENDING_COMMANDS = 2_000;
/**
 * HINCRBY of every field, then EXPIRE when a TTL is given: one command, so it is atomic and takes
 * one place in the bounded queue. A MULTI takes one per field, and one cut short by a full queue
 * would leave the connection inside its transaction (node-redis queues its parts one by one).
 */
const HASH_INCREMENT = `
for i = 1, #ARGV - 1, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
local ttl = tonumber(ARGV[#ARGV])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
return 0`;

/**
 * Redis adapter. Every key and channel is prefixed, so deployments (and test runs) sharing a
 * server never collide.
 *
 * Failure: the client runs with `disableOfflineQueue`, so while Redis is unreachable commands
 * reject at once (node-redis's ClientOfflineError) instead of queueing until it is back; the
 * client reconnects in the background with `reconnectStrategy`. node-redis applies
 * `disableOfflineQueue` only to single commands, not to MULTI, pub/sub or the rate limiters'
 * scripts, so those check the connection here (the limiters through `rejectIfRedisNotReady`).
 *
 * Pub/sub uses a second connection, opened by the first subscribe() (a subscribed RESP2
 * connection can run nothing else). After a reconnect node-redis subscribes that connection to
 * every channel that still has listeners before it is ready again (`resubscribe` in its socket
 * initiator; covered by test/contract/redis-outage.test.ts); messages published while it was
 * disconnected are lost, as Redis pub/sub never stores them.
 */
export class RedisKeyValueStore implements KeyValueStore {
  private subscriber: { client: RedisClientType; connected: Promise<void> } | undefined;
  private closed = false;
  readonly rateLimiter: (options: RateLimiterOptions) => RateLimiterAbstract = rateLimiterRegistry(
    (options) =>
      limiterWithinBudget(
        new RateLimiterRedis({
          storeClient: this.client,
          useRedisPackage: true,
          // Its scripts and MULTIs would otherwise wait for the reconnect.
          rejectIfRedisNotReady: true,
          keyPrefix: `${this.prefix}limit:${options.name}`,
          points: options.points,
          duration: options.durationSeconds,
          blockDuration: options.blockSeconds,
        }),
        this.commandTimeoutMs,
      ),
  );

  private constructor(
    private readonly client: RedisClientType,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly commandTimeoutMs: number,
  ) {}

  /**
   * Runs one store operation within the command budget (MULTI and pub/sub commands included,
   * which node-redis does not time out itself); any failure becomes a RedisUnavailableError, so
   * every caller sees one kind of outage whatever the client said.
   */
  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), this.commandTimeoutMs);
    } catch (error) {
      if (error instanceof RedisUnavailableError) throw error;
      throw new RedisUnavailableError(
        `Redis did not serve the command: ${(error as Error).message}`,
        error,
        isCommandTimeout(error),
      );
    }
  }

  static async connect(options: {
    url: string;
    prefix: string;
    logger: Logger;
    /** Longest wait for one command (default DEFAULT_COMMAND_TIMEOUT_MS). */
    commandTimeoutMs?: number;
    /**
     * false: connect() fails on the first refused or timed-out attempt, and a lost connection stays
     * lost (a one-shot command-line tool); default true, reconnecting in the background.
     */
    reconnect?: boolean;
  }): Promise<RedisKeyValueStore> {
    const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const client: RedisClientType = createClient({
      url: options.url,
      // Reject commands while disconnected instead of queueing them until Redis is back.
      disableOfflineQueue: true,
      // A slow Redis fails each command within its budget, and a bounded queue keeps callers from
      // piling up behind it (the rate limiters' scripts go through the same options).
      commandOptions: { timeout: commandTimeoutMs },
      commandsQueueMaxLength: MAX_PENDING_COMMANDS,
      socket: {
        connectTimeout: 5000,
        reconnectStrategy:
          options.reconnect === false ? false : (retries) => Math.min(100 * 2 ** retries, 5000),
      },
    });
    // Without a listener an 'error' event would crash the process; reconnects are the client's job.
    client.on("error", (error: Error) => options.logger.warn({ err: error }, "Redis error"));
    await client.connect();
    return new RedisKeyValueStore(client, options.prefix, options.logger, commandTimeoutMs);
  }

  async get(key: string): Promise<string | null> {
    return this.run(() => this.client.get(this.prefix + key));
  }

  async set(
    key: string,
    value: string,
    options: { ttlSeconds?: number; onlyIfAbsent?: boolean; onlyIfPresent?: boolean } = {},
  ): Promise<boolean> {
    const reply = await this.run(() =>
      this.client.set(this.prefix + key, value, {
        ...(options.ttlSeconds ? { expiration: { type: "EX", value: options.ttlSeconds } } : {}),
        ...(options.onlyIfAbsent ? { condition: "NX" } : options.onlyIfPresent ? { condition: "XX" } : {}),
      }),
    );
    return reply === "OK";
  }

  async delete(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.run(() => this.client.del(keys.map((key) => this.prefix + key)));
  }

  async take(key: string): Promise<string | null> {
    return this.run(() => this.client.getDel(this.prefix + key));
  }

  async ttl(key: string): Promise<number | null> {
    const seconds = await this.run(() => this.client.ttl(this.prefix + key));
    return seconds < 0 ? null : seconds;
  }

  async setAdd(key: string, member: string, options: { ttlSeconds?: number } = {}): Promise<void> {
    // MULTI bypasses disableOfflineQueue: without this check it would wait for the reconnect.
    this.assertReady(this.client);
    const multi = this.client.multi().sAdd(this.prefix + key, member);
    if (options.ttlSeconds) multi.expire(this.prefix + key, options.ttlSeconds);
    await this.run(() => multi.exec());
  }

  async setRemove(key: string, member: string): Promise<void> {
    await this.run(() => this.client.sRem(this.prefix + key, member));
  }

  async setMembers(key: string): Promise<string[]> {
    return this.run(() => this.client.sMembers(this.prefix + key));
  }

  async hashIncrement(
    key: string,
    amounts: ReadonlyMap<string, number>,
    options: { ttlSeconds?: number } = {},
  ): Promise<void> {
    if (amounts.size === 0) return;
    const args = [...amounts].flatMap(([field, amount]) => [field, String(amount)]);
    args.push(String(options.ttlSeconds ?? 0));
    await this.run(() => this.client.eval(HASH_INCREMENT, { keys: [this.prefix + key], arguments: args }));
  }

  async hashGetAll(key: string): Promise<Map<string, string>> {
    // A Map: node-redis's default object reply would drop a field named `__proto__`.
    const client = this.client.withTypeMapping({ [RESP_TYPES.MAP]: Map });
    return this.run(() => client.hGetAll(this.prefix + key)) as Promise<Map<string, string>>;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run(() => this.client.publish(this.prefix + channel, message));
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    const subscriber = await this.subscriberClient();
    // Pub/sub commands bypass disableOfflineQueue too.
    this.assertReady(subscriber);
    const name = this.prefix + channel;
    let active = true;
    // A wrapper per subscription: node-redis keeps a set of listeners per channel, so the same
    // function subscribed twice would otherwise be one subscription. A listener that throws
    // inside node-redis's reply parser would reset the connection's decoder: never let it.
    const subscription = (message: string) => {
      if (!active) return;
      try {
        listener(message);
      } catch (error) {
        this.logger.error({ err: error, channel }, "pub/sub listener failed");
      }
    };
    await subscriber.subscribe(name, subscription);
    return async () => {
      if (!active) return;
      // Never called again from here on, whatever happens to the UNSUBSCRIBE below.
      active = false;
      await this.unsubscribe(subscriber, name, subscription);
    };
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.run(() => this.client.ping())) === "PONG";
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await shutDown(subscriber.client);
    await shutDown(this.client);
  }

  /** Removes every key under this store's prefix; for test teardown. */
  async clear(): Promise<void> {
    for await (const keys of this.client.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await this.client.del(keys);
    }
  }

  private assertReady(client: RedisClientType): void {
    if (!client.isReady) throw new RedisUnavailableError();
  }

  /** The subscriber connection, opened on first use while Redis answers. */
  private async subscriberClient(): Promise<RedisClientType> {
    if (this.closed) throw new Error("the key-value store is closed");
    // Redis down: fail now rather than wait for the subscriber connection.
    this.assertReady(this.client);
    if (!this.subscriber) {
      const client: RedisClientType = this.client.duplicate();
      client.on("error", (error: Error) => this.logger.warn({ err: error }, "Redis subscriber error"));
      const connected = client.connect().then(() => undefined);
      // Awaited below with a deadline; a failure after that deadline must not go unhandled.
      connected.catch(() => undefined);
      this.subscriber = { client, connected };
    }
    const { client, connected } = this.subscriber;
    await withDeadline(connected, SUBSCRIBER_CONNECT_TIMEOUT_MS);
    return client;
  }

  /**
   * Sends UNSUBSCRIBE once the connection can take it. Until node-redis gets the reply it keeps
   * the channel (and would re-subscribe it after a reconnect), so a failed attempt is retried
   * after the next reconnect rather than leaving the channel subscribed for good.
   */
  private async unsubscribe(
    subscriber: RedisClientType,
    name: string,
    subscription: (message: string) => void,
  ): Promise<void> {
    if (this.closed || !subscriber.isOpen) return;
    if (subscriber.isReady) {
      try {
        await subscriber.unsubscribe(name, subscription);
        return;
      } catch (error) {
        this.logger.warn({ err: error, channel: name }, "Redis UNSUBSCRIBE failed; retrying after reconnect");
      }
    }
    subscriber.once("ready", () => void this.unsubscribe(subscriber, name, subscription));
  }
}

import { createClient, type RedisClientType } from "redis";
import type { Logger } from "../logger";
import type { KeyValueStore } from "./key-value-store";

/** Redis adapter. Every key is prefixed, so deployments (and test runs) sharing a server never collide. */
export class RedisKeyValueStore implements KeyValueStore {
  private constructor(
    private readonly client: RedisClientType,
    private readonly prefix: string,
  ) {}

  static async connect(options: {
    url: string;
    prefix: string;
    logger: Logger;
  }): Promise<RedisKeyValueStore> {
    const client: RedisClientType = createClient({
      url: options.url,
      socket: { connectTimeout: 5000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5000) },
    });
    // Without a listener an 'error' event would crash the process; reconnects are the client's job.
    client.on("error", (error: Error) => options.logger.warn({ err: error }, "Redis error"));
    await client.connect();
    return new RedisKeyValueStore(client, options.prefix);
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(this.prefix + key);
  }

  async set(
    key: string,
    value: string,
    options: { ttlSeconds?: number; onlyIfAbsent?: boolean } = {},
  ): Promise<boolean> {
    const reply = await this.client.set(this.prefix + key, value, {
      ...(options.ttlSeconds ? { expiration: { type: "EX", value: options.ttlSeconds } } : {}),
      ...(options.onlyIfAbsent ? { condition: "NX" } : {}),
    });
    return reply === "OK";
  }

  async delete(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.client.del(keys.map((key) => this.prefix + key));
  }

  async take(key: string): Promise<string | null> {
    return this.client.getDel(this.prefix + key);
  }

  async ttl(key: string): Promise<number | null> {
    const seconds = await this.client.ttl(this.prefix + key);
    return seconds < 0 ? null : seconds;
  }

  async setAdd(key: string, member: string, options: { ttlSeconds?: number } = {}): Promise<void> {
    const multi = this.client.multi().sAdd(this.prefix + key, member);
    if (options.ttlSeconds) multi.expire(this.prefix + key, options.ttlSeconds);
    await multi.exec();
  }

  async setRemove(key: string, member: string): Promise<void> {
    await this.client.sRem(this.prefix + key, member);
  }

  async setMembers(key: string): Promise<string[]> {
    return this.client.sMembers(this.prefix + key);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()) === "PONG";
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.client.isOpen) await this.client.quit();
  }

  /** Removes every key under this store's prefix; for test teardown. */
  async clear(): Promise<void> {
    for await (const keys of this.client.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await this.client.del(keys);
    }
  }
}

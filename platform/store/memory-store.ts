import { type RateLimiterAbstract, RateLimiterMemory } from "rate-limiter-flexible";

import { createLogger, type Logger } from "../logger";
import { type KeyValueStore, type RateLimiterOptions, rateLimiterRegistry } from "./key-value-store";

interface Entry {
  value: string;
  expiresAt: number | null;
}

type Listener = (message: string) => void;

/**
 * The embedded store. Single-threaded JavaScript makes every operation atomic, as Redis commands
 * are. Pub/sub stays within the process and is synchronous: every listener has been called by the
 * time publish() resolves.
 */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly entries = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<Listener>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly logger: Logger;
  readonly rateLimiter: (options: RateLimiterOptions) => RateLimiterAbstract = rateLimiterRegistry(
    (options) =>
      new RateLimiterMemory({
        keyPrefix: `limit:${options.name}`,
        points: options.points,
        duration: options.durationSeconds,
        blockDuration: options.blockSeconds,
      }),
  );

  constructor(options: { now?: () => number; logger?: Logger } = {}) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? createLogger("memory-store");
    // Expired keys are also dropped on read; the sweep only bounds memory for keys never read again.
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async set(
    key: string,
    value: string,
    options: { ttlSeconds?: number; onlyIfAbsent?: boolean; onlyIfPresent?: boolean } = {},
  ): Promise<boolean> {
    if (options.onlyIfAbsent && this.live(key)) return false;
    if (options.onlyIfPresent && !this.live(key)) return false;
    const expiresAt = options.ttlSeconds ? this.now() + options.ttlSeconds * 1000 : null;
    this.entries.set(key, { value, expiresAt });
    return true;
  }

  async delete(...keys: string[]): Promise<number> {
    let removed = 0;
    for (const key of keys) if (this.live(key) && this.entries.delete(key)) removed++;
    return removed;
  }

  async take(key: string): Promise<string | null> {
    const entry = this.live(key);
    if (!entry) return null;
    this.entries.delete(key);
    return entry.value;
  }

  async ttl(key: string): Promise<number | null> {
    const entry = this.live(key);
    if (!entry || entry.expiresAt === null) return null;
    return Math.ceil((entry.expiresAt - this.now()) / 1000);
  }

  async setAdd(key: string, member: string, options: { ttlSeconds?: number } = {}): Promise<void> {
    const members = new Set(await this.setMembers(key));
    members.add(member);
    this.writeSet(key, members, options.ttlSeconds);
  }

  async setRemove(key: string, member: string): Promise<void> {
    const members = new Set(await this.setMembers(key));
    members.delete(member);
    this.writeSet(key, members);
  }

  async setMembers(key: string): Promise<string[]> {
    const raw = await this.get(key);
    return raw ? (JSON.parse(raw) as string[]) : [];
  }

  async hashIncrement(
    key: string,
    amounts: ReadonlyMap<string, number>,
    options: { ttlSeconds?: number } = {},
  ): Promise<void> {
    if (amounts.size === 0) return;
    const hash = await this.hashGetAll(key);
    for (const [field, amount] of amounts) hash.set(field, String(Number(hash.get(field) ?? 0) + amount));
    const expiresAt = options.ttlSeconds
      ? this.now() + options.ttlSeconds * 1000
      : (this.live(key)?.expiresAt ?? null);
    this.entries.set(key, { value: JSON.stringify([...hash]), expiresAt });
  }

  async hashGetAll(key: string): Promise<Map<string, string>> {
    const raw = await this.get(key);
    return new Map(raw ? (JSON.parse(raw) as [string, string][]) : []);
  }

  async publish(channel: string, message: string): Promise<void> {
    // A copy: a listener that subscribes or unsubscribes while being called changes the next delivery.
    for (const listener of [...(this.channels.get(channel) ?? [])]) {
      try {
        listener(message);
      } catch (error) {
        this.logger.error({ err: error, channel }, "pub/sub listener failed");
      }
    }
  }

  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions, as on Redis.
    const subscription: Listener = (message) => listener(message);
    let listeners = this.channels.get(channel);
    if (!listeners) this.channels.set(channel, (listeners = new Set()));
    listeners.add(subscription);
    return async () => {
      listeners.delete(subscription);
      if (listeners.size === 0 && this.channels.get(channel) === listeners) this.channels.delete(channel);
    };
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.channels.clear();
  }

  /** Like SADD/SREM + EXPIRE: the expiry changes only when a TTL is given; an empty set is gone. */
  private writeSet(key: string, members: Set<string>, ttlSeconds?: number): void {
    if (members.size === 0) {
      this.entries.delete(key);
      return;
    }
    const expiresAt = ttlSeconds ? this.now() + ttlSeconds * 1000 : (this.live(key)?.expiresAt ?? null);
    this.entries.set(key, { value: JSON.stringify([...members]), expiresAt });
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    for (const key of [...this.entries.keys()]) this.live(key);
  }
}

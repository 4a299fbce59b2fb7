import type { RateLimiterAbstract } from "rate-limiter-flexible";

/** A limit of `points` per `durationSeconds`, counted per key (a user, an IP address...). */
export interface RateLimiterOptions {
  /** Names the counters: limiters with different names never share them. */
  name: string;
  points: number;
  durationSeconds: number;
  /** Once the points are exhausted, rejects the key for this long instead of until the window ends. */
  blockSeconds?: number;
}

/**
 * The key-value store business code sees: Redis in production, memory on a laptop. Values are
 * strings (callers serialise); every key may expire. Both adapters pass one contract suite.
 *
 * Failure: while the backing server is unreachable every operation rejects at once (ping()
 * answers false) rather than waiting for it; the store reconnects by itself and works again
 * once the server is back.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(
    key: string,
    value: string,
    options?: { ttlSeconds?: number; onlyIfAbsent?: boolean; onlyIfPresent?: boolean },
  ): Promise<boolean>;
  delete(...keys: string[]): Promise<number>;
  /** Reads and removes in one atomic step: of many concurrent callers, exactly one gets the value. */
  take(key: string): Promise<string | null>;
  /** Seconds until the key expires; null when it does not exist or never expires. */
  ttl(key: string): Promise<number | null>;
  /** Set members: adding is idempotent; sets expire like keys. */
  setAdd(key: string, member: string, options?: { ttlSeconds?: number }): Promise<void>;
  setRemove(key: string, member: string): Promise<void>;
  setMembers(key: string): Promise<string[]>;
  /**
   * Adds each amount to its field of the hash (HINCRBY; a missing field counts from 0), all fields
   * in one atomic step; a TTL, when given, is set after the increments. Hashes expire like keys.
   * On Redis a call is one script that runs uninterrupted: keep calls to hundreds of fields.
   */
  hashIncrement(
    key: string,
    amounts: ReadonlyMap<string, number>,
    options?: { ttlSeconds?: number },
  ): Promise<void>;
  /** Every field of the hash with its value (empty when the hash does not exist). */
  hashGetAll(key: string): Promise<Map<string, string>>;
  /**
   * Delivers a message to every listener subscribed to the channel at that moment, in this
   * process or (Redis) any other sharing the server and prefix. Fire and forget: nobody
   * listening is not an error, and a message is never stored for a later subscriber.
   */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Calls the listener with each message published on the channel from the moment the returned
   * promise resolves, in publishing order. A listener that throws is logged and does not affect
   * other listeners or the publisher. Resolves to an unsubscribe function: once it is called the
   * listener is never called again (calling it twice is harmless).
   */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  /**
   * The limiter named `options.name`; one store returns the same limiter for the same name and
   * options (so creating one per request still limits), and throws if that name is already used
   * with other options. `consume(key)` resolves while points remain and rejects with a
   * `RateLimiterRes` (see `msBeforeNext`) once they are exhausted; it rejects with an `Error`
   * when the store itself failed (Redis unreachable), which callers must not mistake for a limit.
   * `delete(key)` resets a key's counter.
   */
  rateLimiter(options: RateLimiterOptions): RateLimiterAbstract;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Creates each named limiter once per store (see `KeyValueStore.rateLimiter`): without it the
 * memory store would count per limiter object while Redis counts per name.
 */
export function rateLimiterRegistry(
  create: (options: RateLimiterOptions) => RateLimiterAbstract,
): (options: RateLimiterOptions) => RateLimiterAbstract {
  const limiters = new Map<string, { options: RateLimiterOptions; limiter: RateLimiterAbstract }>();
  return (options) => {
    const existing = limiters.get(options.name);
    if (existing) {
      const same =
        existing.options.points === options.points &&
        existing.options.durationSeconds === options.durationSeconds &&
        (existing.options.blockSeconds ?? 0) === (options.blockSeconds ?? 0);
      if (!same) {
        throw new Error(`rate limiter "${options.name}" already exists with other limits`);
      }
      return existing.limiter;
    }
    const limiter = create(options);
    limiters.set(options.name, { options: { ...options }, limiter });
    return limiter;
  };
}

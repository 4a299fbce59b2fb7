/**
 * The key-value store business code sees: Redis in production, memory on a laptop. Values are
 * strings (callers serialise); every key may expire. Both adapters pass one contract suite.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(
    key: string,
    value: string,
    options?: { ttlSeconds?: number; onlyIfAbsent?: boolean },
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
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

import { LRUCache } from "lru-cache";

/**
 * What a token verified to, remembered by the token's exact text until it expires (and never longer
 * than `maxAgeMs`, so a signing key taken out of service stops being honoured soon after). A hit
 * skips the signature check: the same text signed by the same key verifies the same way, and
 * expiry is still enforced per entry. Only a successful verification is remembered.
 */
export class VerifiedTokens<T extends object> {
  private readonly entries: LRUCache<string, T>;
  private readonly maxAgeMs: number;

  constructor(options: { max?: number; maxAgeMs: number }) {
    this.entries = new LRUCache<string, T>({ max: options.max ?? 10_000, ttl: options.maxAgeMs });
    this.maxAgeMs = options.maxAgeMs;
  }

  get(token: string): T | undefined {
    return this.entries.get(token);
  }

  /** `expiresAt`: the token's `exp` in seconds since the epoch. */
  remember(token: string, value: T, expiresAt: number): void {
    const ttl = Math.min(expiresAt * 1000 - Date.now(), this.maxAgeMs);
    if (ttl > 0) this.entries.set(token, value, { ttl });
  }
}

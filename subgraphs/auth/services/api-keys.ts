import { randomBytes } from "node:crypto";

import type { EntityManager } from "@mikro-orm/postgresql";

import {
  credentialKeys as keys,
  hashSecret,
  REVOCATION_CHANNEL,
  revocationMessage,
  type StoredApiKey,
} from "../../../platform/identity/credential-store";
import type { KeyValueStore } from "../../../platform/store/key-value-store";
import { ApiKeyRecord } from "../entities/api-key-record.entity";

const SECRET_PREFIX = "ork_";
/** "ork_" plus 8 characters of the secret: enough to tell keys apart, far too little to guess the rest. */
const PUBLIC_PREFIX_LENGTH = SECRET_PREFIX.length + 8;

export function newApiKeySecret() {
  const secret = SECRET_PREFIX + randomBytes(32).toString("base64url");
  return { secret, prefix: secret.slice(0, PUBLIC_PREFIX_LENGTH), secretHash: hashSecret(secret) };
}

/**
 * API keys: PostgreSQL is the record; the store holds a lookup copy under the secret's hash, which
 * the router reads on every keyed request. The copy is rewritten at start-up, so a flushed Redis
 * heals itself, and deleted on revocation, so the next request with the key is refused.
 */
export class ApiKeyDirectory {
  constructor(private readonly store: KeyValueStore) {}

  async publish(record: ApiKeyRecord, roles: string[]): Promise<void> {
    const stored: StoredApiKey = {
      id: record.id,
      userId: record.userId,
      roles,
      scopes: record.scopes,
      expiresAt: record.expiresAt?.toISOString() ?? null,
    };
    const ttlSeconds = record.expiresAt
      ? Math.max(1, Math.ceil((record.expiresAt.getTime() - Date.now()) / 1000))
      : undefined;
    await this.store.set(keys.apiKey(record.secretHash), JSON.stringify(stored), { ttlSeconds });
  }

  async withdraw(record: ApiKeyRecord): Promise<void> {
    await this.store.delete(keys.apiKey(record.secretHash));
    await this.store.publish(REVOCATION_CHANNEL, revocationMessage.apiKey(record.secretHash));
  }

  /** When the router last saw the key (it writes this, at most once a minute per key). */
  async lastUsed(record: ApiKeyRecord): Promise<Date | null> {
    const seen = await this.store.get(keys.apiKeyLastUsed(record.id));
    return seen ? new Date(seen) : record.lastUsedAt;
  }

  /**
   * Rewrites the lookup copy of every live key and removes the copies of revoked ones (a
   * revocation whose store write was lost is finished here); returns how many are live.
   */
  async republishAll(em: EntityManager, rolesOf: (userId: string) => Promise<string[]>): Promise<number> {
    const live = await em.find(ApiKeyRecord, {
      revokedAt: null,
      $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }],
    });
    for (const record of live) await this.publish(record, await rolesOf(record.userId));
    const revoked = await em.find(ApiKeyRecord, { revokedAt: { $ne: null } });
    if (revoked.length > 0)
      await this.store.delete(...revoked.map((record) => keys.apiKey(record.secretHash)));
    await this.store.set(keys.apiKeysPublished, new Date().toISOString());
    return live.length;
  }

  /**
   * Republishes every key whenever the store has lost them (see `apiKeysPublished`), checking every
   * `everyMs`: a Redis restarted empty heals without restarting anything. Returns the stopper.
   */
  watch(
    republish: () => Promise<number>,
    logger: { info(o: object, m: string): void; warn(o: object, m: string): void },
    everyMs = 1_000,
  ): () => void {
    let running = false;
    const timer = setInterval(async () => {
      if (running) return;
      running = true;
      try {
        if ((await this.store.get(keys.apiKeysPublished)) !== null) return;
        logger.info(
          { apiKeys: await republish() },
          "the store had lost the API keys: lookup copies rewritten",
        );
      } catch (error) {
        logger.warn({ err: error }, "could not check or rewrite the API keys' lookup copies; retrying");
      } finally {
        running = false;
      }
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

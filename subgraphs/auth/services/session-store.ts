import { randomBytes, randomUUID } from "node:crypto";

import {
  credentialKeys as keys,
  hashSecret,
  REVOCATION_CHANNEL,
  revocationMessage,
  type StoredSession,
} from "../../../platform/identity/credential-store";
import type { ClientInfo } from "../../../platform/identity/identity";
import type { KeyValueStore } from "../../../platform/store/key-value-store";

export interface SessionPolicy {
  /** A session nobody refreshes for this long ends. */
  idleSeconds: number;
  /** A session ends this long after sign-in, however active. */
  lifetimeSeconds: number;
}

export type RotationResult =
  | { kind: "rotated"; session: StoredSession; refreshToken: string }
  /** An already-used token came back: whoever holds it, the session (its token family) is over. */
  | { kind: "reused"; sessionId: string; userId: string }
  | { kind: "invalid" };

interface RefreshRecord {
  sessionId: string;
  userId: string;
}

const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Sessions and their refresh tokens, in the key-value store (Redis). A refresh token is 256 random
 * bits shown once; only its SHA-256 is stored. Each token is single use: the first refresh claims
 * it with SET NX (atomic across replicas), and its record stays until the session's absolute end
 * so a second use is recognised as reuse rather than as an unknown token.
 */
export class SessionStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly policy: SessionPolicy,
  ) {}

  async create(userId: string, client: ClientInfo) {
    const now = new Date();
    const session: StoredSession = {
      id: randomUUID(),
      userId,
      createdAt: now.toISOString(),
      lastUsedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.policy.lifetimeSeconds * 1000).toISOString(),
      userAgent: client.userAgent,
      ipAddress: client.ip,
    };
    // Independent keys: written in parallel, one round trip of latency on the login path instead of three.
    const [refreshToken] = await Promise.all([
      this.issueRefreshToken(session),
      this.save(session),
      this.store.setAdd(keys.userSessions(userId), session.id, { ttlSeconds: this.policy.lifetimeSeconds }),
    ]);
    return { session, refreshToken };
  }

  /** Whose session a refresh token belongs to, without spending it (null: not a live token). */
  async holderOf(refreshToken: string): Promise<RefreshRecord | null> {
    if (!REFRESH_TOKEN_PATTERN.test(refreshToken)) return null;
    const raw = await this.store.get(keys.refreshToken(hashSecret(refreshToken)));
    return raw ? (JSON.parse(raw) as RefreshRecord) : null;
  }

  async rotate(refreshToken: string): Promise<RotationResult> {
    if (!REFRESH_TOKEN_PATTERN.test(refreshToken)) return { kind: "invalid" };
    const tokenHash = hashSecret(refreshToken);
    const raw = await this.store.get(keys.refreshToken(tokenHash));
    if (!raw) return { kind: "invalid" };
    const record = JSON.parse(raw) as RefreshRecord;
    const ttlSeconds = (await this.store.ttl(keys.refreshToken(tokenHash))) ?? this.policy.lifetimeSeconds;
    const claimed = await this.store.set(keys.refreshTokenUsed(tokenHash), "1", {
      onlyIfAbsent: true,
      ttlSeconds,
    });
    if (!claimed) {
      await this.revoke(record.sessionId);
      return { kind: "reused", ...record };
    }
    const session = await this.get(record.sessionId);
    if (!session) return { kind: "invalid" };
    if (Date.parse(session.expiresAt) <= Date.now()) {
      await this.revoke(session.id);
      return { kind: "invalid" };
    }
    const refreshed = { ...session, lastUsedAt: new Date().toISOString() };
    // Only if still there: a revocation that landed since the read must not be undone by this write.
    if (!(await this.save(refreshed, { onlyIfPresent: true }))) return { kind: "invalid" };
    return { kind: "rotated", session: refreshed, refreshToken: await this.issueRefreshToken(refreshed) };
  }

  async get(sessionId: string): Promise<StoredSession | null> {
    const raw = await this.store.get(keys.session(sessionId));
    return raw ? (JSON.parse(raw) as StoredSession) : null;
  }

  async listForUser(userId: string): Promise<StoredSession[]> {
    const ids = await this.store.setMembers(keys.userSessions(userId));
    const found = await Promise.all(ids.map((id) => this.get(id)));
    const gone = ids.filter((_, index) => found[index] === null || found[index]!.userId !== userId);
    await Promise.all(gone.map((id) => this.store.setRemove(keys.userSessions(userId), id)));
    return found
      .filter((session): session is StoredSession => session !== null && session.userId === userId)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Ends a session at once: routers hear of it on the revocation channel and refuse its access tokens. */
  async revoke(sessionId: string): Promise<boolean> {
    const session = await this.get(sessionId);
    const removed = await this.store.delete(keys.session(sessionId));
    if (session) await this.store.setRemove(keys.userSessions(session.userId), sessionId);
    await this.store.publish(REVOCATION_CHANNEL, revocationMessage.session(sessionId));
    return removed > 0;
  }

  /** Ends every session of the user except `keep`; returns how many ended. */
  async revokeAllForUser(userId: string, keep?: string): Promise<number> {
    const sessions = await this.listForUser(userId);
    const ended = await Promise.all(
      sessions.filter((session) => session.id !== keep).map((session) => this.revoke(session.id)),
    );
    return ended.filter(Boolean).length;
  }

  private async issueRefreshToken(session: StoredSession): Promise<string> {
    const token = randomBytes(32).toString("base64url");
    const record: RefreshRecord = { sessionId: session.id, userId: session.userId };
    await this.store.set(keys.refreshToken(hashSecret(token)), JSON.stringify(record), {
      ttlSeconds: this.remainingLifetime(session),
    });
    return token;
  }

  /** The session key lives until the idle timeout, never past the absolute end. */
  private save(session: StoredSession, options: { onlyIfPresent?: boolean } = {}): Promise<boolean> {
    const ttlSeconds = Math.min(this.policy.idleSeconds, this.remainingLifetime(session));
    return this.store.set(keys.session(session.id), JSON.stringify(session), { ttlSeconds, ...options });
  }

  private remainingLifetime(session: StoredSession): number {
    return Math.max(1, Math.ceil((Date.parse(session.expiresAt) - Date.now()) / 1000));
  }
}

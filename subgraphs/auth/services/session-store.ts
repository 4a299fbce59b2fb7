import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { KeyValueStore } from "../../../platform/store/key-value-store";

export const SESSION_LIFETIME_SECONDS = 30 * 24 * 3600;

export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: string;
  lastUsedAt: string;
  userAgent: string | null;
  ipAddress: string | null;
}

const sessionKey = (id: string) => `auth:session:${id}`;
const userSessionsKey = (userId: string) => `auth:user-sessions:${userId}`;
const refreshKey = (tokenHash: string) => `auth:refresh:${tokenHash}`;

export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

/**
 * Sessions and their refresh tokens live in the key-value store (Redis). A refresh token is 256
 * random bits shown to the client once; only its SHA-256 is stored.
 */
export class SessionStore {
  constructor(private readonly store: KeyValueStore) {}

  async create(userId: string, client: { userAgent: string | null; ipAddress: string | null }) {
    const now = new Date().toISOString();
    const session: SessionRecord = { id: randomUUID(), userId, createdAt: now, lastUsedAt: now, ...client };
    const refreshToken = randomBytes(32).toString("base64url");
    const ttlSeconds = SESSION_LIFETIME_SECONDS;
    // Independent keys: written in parallel, one round trip of latency on the login path instead of three.
    await Promise.all([
      this.store.set(sessionKey(session.id), JSON.stringify(session), { ttlSeconds }),
      this.store.set(refreshKey(hashToken(refreshToken)), JSON.stringify({ sessionId: session.id, userId }), {
        ttlSeconds,
      }),
      this.store.setAdd(userSessionsKey(userId), session.id, { ttlSeconds }),
    ]);
    return { session, refreshToken };
  }

  async listForUser(userId: string): Promise<SessionRecord[]> {
    const sessions: SessionRecord[] = [];
    for (const id of await this.store.setMembers(userSessionsKey(userId))) {
      const raw = await this.store.get(sessionKey(id));
      if (raw) sessions.push(JSON.parse(raw) as SessionRecord);
      else await this.store.setRemove(userSessionsKey(userId), id);
    }
    return sessions.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }
}

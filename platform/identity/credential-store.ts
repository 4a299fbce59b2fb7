import { createHash } from "node:crypto";

/**
 * The Redis layout the auth subgraph writes and the router reads: one definition, so the two can
 * never disagree about where a session or an API key lives. Secrets are never keys; their SHA-256 is.
 */
export const credentialKeys = {
  session: (sessionId: string) => `auth:session:${sessionId}`,
  userSessions: (userId: string) => `auth:user-sessions:${userId}`,
  refreshToken: (tokenHash: string) => `auth:refresh:${tokenHash}`,
  refreshTokenUsed: (tokenHash: string) => `auth:refresh-used:${tokenHash}`,
  apiKey: (secretHash: string) => `auth:api-key:${secretHash}`,
  apiKeyLastUsed: (keyId: string) => `auth:api-key-used:${keyId}`,
  /**
   * Present while the lookup copies of every live key are in the store. A store that lost its data
   * (restarted empty) lacks it: auth rewrites the copies within a second, and meanwhile the router
   * answers a key it cannot find with SERVICE_UNAVAILABLE rather than calling a live key invalid.
   */
  apiKeysPublished: "auth:api-keys:published",
};

/** Routers drop their cached answer for a credential the moment auth publishes its revocation here. */
export const REVOCATION_CHANNEL = "auth:revocations";
export const revocationMessage = {
  session: (sessionId: string) => `session:${sessionId}`,
  apiKey: (secretHash: string) => `api-key:${secretHash}`,
};

/** SHA-256 is enough for 256-bit random secrets (refresh tokens, API keys): there is nothing to brute-force. */
export const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");

/** What the store holds per session; the router reads `userId` to check it matches the token's `sub`. */
export interface StoredSession {
  id: string;
  userId: string;
  createdAt: string;
  lastUsedAt: string;
  /** Absolute end: the session cannot be refreshed past it. */
  expiresAt: string;
  userAgent: string | null;
  ipAddress: string | null;
}

/** What the store holds per API key (a cache of the auth database, rebuilt at auth start). */
export interface StoredApiKey {
  id: string;
  userId: string;
  roles: string[];
  scopes: string[];
  expiresAt: string | null;
}

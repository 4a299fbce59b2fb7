import { createRemoteJWKSet, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";

import { requestError, unavailable } from "../platform/errors";
import {
  credentialKeys,
  hashSecret,
  REVOCATION_CHANNEL,
  type StoredApiKey,
  type StoredSession,
} from "../platform/identity/credential-store";
import type { Identity, UserIdentity } from "../platform/identity/identity";
import { ALL_ROLES, type Role } from "../platform/identity/roles";
import { VerifiedTokens } from "../platform/identity/verified-tokens";
import type { Logger } from "../platform/logger";
import type { KeyValueStore } from "../platform/store/key-value-store";
import type { AuthFailureReason } from "./router-metrics";

export interface CredentialSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  store: KeyValueStore;
  logger: Logger;
  /**
   * How long a confirmed session or key is trusted without asking the store again (default 1 s):
   * a revocation whose message this router missed still takes effect within it.
   */
  cacheSeconds?: number;
  /** Told of every refused credential (the router counts them by reason). */
  onFailure?: (reason: AuthFailureReason) => void;
}

export interface VerifiedCaller {
  identity: Identity;
  /**
   * True when the store could not be asked whether the token's session is still alive: the token's
   * signature and expiry held, so reads go on, but the router refuses mutations (see decision 002).
   */
  unconfirmed: boolean;
}

const API_KEY_PATTERN = /^ork_[A-Za-z0-9_-]{43}$/;
const BEARER_PATTERN = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
const LAST_USED_EVERY_MS = 60_000;
const LAST_USED_TTL_SECONDS = 400 * 24 * 3600;

type CacheEntry = { kind: "session"; userId: string } | { kind: "apiKey"; key: StoredApiKey };

/**
 * Who is calling: a bearer access token (RS256 against the auth subgraph's JWKS, then its `sid`
 * must still be a live session in the store) or an `X-API-Key` (looked up by its hash). No
 * credential is an anonymous caller; a bad one is refused with 401, never downgraded to anonymous.
 * Confirmed sessions and keys are cached for a few seconds and dropped the moment auth publishes
 * their revocation, so a logout is refused on the very next request.
 */
export class CredentialVerifier {
  private readonly cache: LRUCache<string, CacheEntry>;
  /**
   * Revocations heard in the last minute: a store read that started before a revocation may answer
   * after it, and must not put the revoked credential back into the cache.
   */
  private readonly revoked: LRUCache<string, true>;
  private readonly lastUsedWritten = new LRUCache<string, number>({ max: 10_000 });
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  // A minute at most, so a key withdrawn from the JWKS stops being honoured soon after.
  private readonly verifiedTokens = new VerifiedTokens<UserIdentity & { sessionId: string }>({
    maxAgeMs: 60_000,
  });

  private constructor(
    private readonly settings: CredentialSettings,
    private readonly unsubscribe: () => Promise<void>,
    cache: LRUCache<string, CacheEntry>,
    revoked: LRUCache<string, true>,
  ) {
    this.cache = cache;
    this.revoked = revoked;
    this.jwks = createRemoteJWKSet(new URL(settings.jwksUrl), {
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: 30_000,
    });
  }

  static async create(settings: CredentialSettings): Promise<CredentialVerifier> {
    const cache = new LRUCache<string, CacheEntry>({ max: 50_000, ttl: (settings.cacheSeconds ?? 1) * 1000 });
    const revoked = new LRUCache<string, true>({ max: 50_000, ttl: 60_000 });
    const unsubscribe = await settings.store.subscribe(REVOCATION_CHANNEL, (message) => {
      const [kind, id] = splitOnce(message);
      const cacheKey = kind === "session" ? `session:${id}` : kind === "api-key" ? `api-key:${id}` : null;
      if (!cacheKey) return;
      cache.delete(cacheKey);
      revoked.set(cacheKey, true);
    });
    return new CredentialVerifier(settings, unsubscribe, cache, revoked);
  }

  async verify(headers: { authorization?: string; apiKey?: string }): Promise<VerifiedCaller> {
    const { authorization, apiKey } = headers;
    if (authorization && apiKey)
      throw this.refuse("both_credentials", "Send either an Authorization header or an X-API-Key, not both");
    if (apiKey) return { identity: await this.verifyApiKey(apiKey), unconfirmed: false };
    if (authorization) return this.verifyAccessToken(authorization);
    return { identity: { kind: "anonymous" }, unconfirmed: false };
  }

  close(): Promise<void> {
    return this.unsubscribe();
  }

  private refuse(reason: AuthFailureReason, message: string) {
    this.settings.onFailure?.(reason);
    return requestError("UNAUTHENTICATED", message);
  }

  private async verifyAccessToken(authorization: string): Promise<VerifiedCaller> {
    const match = BEARER_PATTERN.exec(authorization);
    if (!match) throw this.refuse("malformed_header", "Malformed Authorization header");
    const token = match[1]!;
    let identity: UserIdentity & { sessionId: string };
    try {
      identity = this.verifiedTokens.get(token) ?? (await this.verifySignature(token));
    } catch {
      throw this.refuse("invalid_token", "Invalid or expired access token");
    }
    const cacheKey = `session:${identity.sessionId}`;
    const cached = this.cache.get(cacheKey);
    if (cached?.kind === "session") {
      if (cached.userId !== identity.userId) throw this.refuse("session_ended", "Session has ended");
      return { identity, unconfirmed: false };
    }
    let raw: string | null;
    try {
      raw = await this.settings.store.get(credentialKeys.session(identity.sessionId));
    } catch (error) {
      this.settings.logger.warn(
        { err: error },
        "session store unreachable: token accepted on its signature alone",
      );
      return { identity, unconfirmed: true };
    }
    const session = raw ? (JSON.parse(raw) as StoredSession) : null;
    if (!session || session.userId !== identity.userId)
      throw this.refuse("session_ended", "Session has ended");
    this.cache.set(cacheKey, { kind: "session", userId: session.userId });
    return { identity, unconfirmed: false };
  }

  /** Signature, issuer, audience, type and expiry; the result is remembered until the token expires. */
  private async verifySignature(token: string): Promise<UserIdentity & { sessionId: string }> {
    const { payload } = await jwtVerify(token, this.jwks, {
      algorithms: ["RS256"],
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      typ: "at+jwt",
      requiredClaims: ["sub", "sid", "exp", "iat"],
    });
    if (typeof payload.sid !== "string") throw new Error("sid is not a string");
    const identity: UserIdentity & { sessionId: string } = {
      kind: "user",
      userId: payload.sub!,
      roles: rolesOf(payload.roles),
      sessionId: payload.sid,
      apiKeyId: null,
      scopes: null,
    };
    this.verifiedTokens.remember(token, identity, payload.exp!);
    return identity;
  }

  private async verifyApiKey(secret: string): Promise<Identity> {
    if (!API_KEY_PATTERN.test(secret)) throw this.refuse("invalid_api_key", "Invalid API key");
    const secretHash = hashSecret(secret);
    const cacheKey = `api-key:${secretHash}`;
    let key = (this.cache.get(cacheKey) as { kind: "apiKey"; key: StoredApiKey } | undefined)?.key;
    if (!key) {
      let raw: string | null;
      try {
        raw = await this.settings.store.get(credentialKeys.apiKey(secretHash));
      } catch (error) {
        // A key can only be checked in the store: without it no keyed request can be authenticated.
        this.settings.logger.warn({ err: error }, "session store unreachable: API key cannot be checked");
        throw unavailable("Credentials cannot be checked right now; retry shortly");
      }
      if (!raw && (await this.keysMissing()))
        throw unavailable("API keys are being reloaded; retry in a moment", 1);
      if (!raw || this.revoked.has(cacheKey))
        throw this.refuse("invalid_api_key", "Invalid or revoked API key");
      key = JSON.parse(raw) as StoredApiKey;
      this.cache.set(cacheKey, { kind: "apiKey", key });
    }
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.now())
      throw this.refuse("expired_api_key", "API key has expired");
    this.noteUse(key.id);
    return {
      kind: "user",
      userId: key.userId,
      roles: rolesOf(key.roles),
      sessionId: null,
      apiKeyId: key.id,
      scopes: key.scopes,
    };
  }

  /** The store lost its data (restarted empty) and auth has not rewritten the keys yet. */
  private async keysMissing(): Promise<boolean> {
    try {
      return (await this.settings.store.get(credentialKeys.apiKeysPublished)) === null;
    } catch {
      throw unavailable("Credentials cannot be checked right now; retry shortly");
    }
  }

  /** lastUsedAt, cheaply: at most one store write per key per minute, off the request's path. */
  private noteUse(keyId: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(keyId) ?? 0) < LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(keyId, now);
    this.settings.store
      .set(credentialKeys.apiKeyLastUsed(keyId), new Date(now).toISOString(), {
        ttlSeconds: LAST_USED_TTL_SECONDS,
      })
      .catch((error: unknown) => this.settings.logger.warn({ err: error }, "could not record API key use"));
  }
}

function rolesOf(value: unknown): Role[] {
  return (Array.isArray(value) ? value : []).filter((role): role is Role => ALL_ROLES.includes(role as Role));
}

function splitOnce(message: string): [string, string] {
  const at = message.indexOf(":");
  return at < 0 ? [message, ""] : [message.slice(0, at), message.slice(at + 1)];
}

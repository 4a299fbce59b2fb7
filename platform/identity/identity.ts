import { type CryptoKey, jwtVerify, type KeyObject, SignJWT } from "jose";
import { LRUCache } from "lru-cache";

import { Role } from "./roles";
import { VerifiedTokens } from "./verified-tokens";

/** Who is calling, as the router established it. Business code sees only this, never a token. */
export type Identity = { kind: "anonymous" } | UserIdentity;

/**
 * A signed-in user, through a session (access token) or an API key. `scopes` null means a session,
 * which may do whatever the user's roles allow; an API key is limited to its scopes.
 */
export interface UserIdentity {
  kind: "user";
  userId: string;
  roles: Role[];
  sessionId: string | null;
  apiKeyId: string | null;
  scopes: string[] | null;
}

export const ANONYMOUS: Identity = { kind: "anonymous" };

/** HTTP header that carries the router's signed identity assertion to subgraphs. */
export const IDENTITY_HEADER = "orion-identity";

const ASSERTION_TYPE = "orion-identity+jwt";
const ASSERTION_ISSUER = "orion-router";
const ASSERTION_AUDIENCE = "orion-subgraphs";
// Subgraph calls happen within one request; a minute covers clock skew without making a leaked assertion useful.
const ASSERTION_LIFETIME_SECONDS = 60;
// An assertion is reused for the same caller while it has at least this long left: a request's
// subgraph calls finish well within it, and an Ed25519 signature per request is the router's
// largest cost after HTTP itself (bench:router profiles).
const ASSERTION_MIN_REMAINING_SECONDS = 45;

type Key = CryptoKey | KeyObject;

/** The caller's network facts as the router saw them; subgraphs never read them from raw headers. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** The router's own calls (no client behind them): nothing leaves the router unsigned. */
export const NO_CLIENT: ClientInfo = { ip: null, userAgent: null };

export interface Assertion {
  identity: Identity;
  client: ClientInfo;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
}

/**
 * Router side: the verified identity and the client's IP and user agent, in a short-lived
 * Ed25519-signed assertion. Anonymous callers get one too (without `sub`), so their client facts
 * reach the subgraphs signed as well.
 */
export async function signIdentityAssertion(
  identity: Identity,
  client: ClientInfo,
  privateKey: Key,
): Promise<string> {
  const jwt = new SignJWT(assertionClaims(identity, client))
    .setProtectedHeader({ alg: "EdDSA", typ: ASSERTION_TYPE })
    .setIssuer(ASSERTION_ISSUER)
    .setAudience(ASSERTION_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ASSERTION_LIFETIME_SECONDS}s`);
  if (identity.kind === "user") jwt.setSubject(identity.userId);
  return jwt.sign(privateKey);
}

function assertionClaims(identity: Identity, client: ClientInfo) {
  const claims =
    identity.kind === "user"
      ? {
          roles: identity.roles,
          sid: identity.sessionId ?? undefined,
          key: identity.apiKeyId ?? undefined,
          scope: identity.scopes?.join(" "),
        }
      : {};
  return { ...claims, ip: client.ip ?? undefined, ua: client.userAgent ?? undefined };
}

/**
 * Signs assertions, reusing one for the same identity and client facts while it is fresh enough
 * (see ASSERTION_MIN_REMAINING_SECONDS). The reused text is identical, so subgraphs' verification
 * caches (AssertionVerifier) hit as well.
 */
export class AssertionSigner {
  private readonly signed = new LRUCache<string, Promise<string>>({
    max: 10_000,
    ttl: (ASSERTION_LIFETIME_SECONDS - ASSERTION_MIN_REMAINING_SECONDS) * 1000,
  });

  constructor(private readonly privateKey: Key) {}

  sign(identity: Identity, client: ClientInfo): Promise<string> {
    const key = JSON.stringify([
      identity.kind === "user" ? identity.userId : null,
      assertionClaims(identity, client),
    ]);
    let assertion = this.signed.get(key);
    if (!assertion) {
      assertion = signIdentityAssertion(identity, client, this.privateKey);
      this.signed.set(key, assertion);
      assertion.catch(() => this.signed.delete(key));
    }
    return assertion;
  }
}

/** Subgraph side of AssertionSigner: a verified assertion is remembered by its text until it expires. */
export class AssertionVerifier {
  private readonly verified = new VerifiedTokens<Assertion>({ maxAgeMs: ASSERTION_LIFETIME_SECONDS * 1000 });

  constructor(private readonly publicKey: Key) {}

  async verify(header: string | undefined): Promise<Assertion> {
    if (!header) throw new MissingIdentityAssertion();
    const known = this.verified.get(header);
    if (known) return known;
    const assertion = await verifyIdentityAssertion(header, this.publicKey);
    this.verified.remember(header, assertion, assertion.expiresAt);
    return assertion;
  }
}

export class InvalidIdentityAssertion extends Error {}

/**
 * No assertion at all: the caller did not come through the router (the router signs one for every
 * request, anonymous callers included), so a subgraph answers it nothing.
 */
export class MissingIdentityAssertion extends InvalidIdentityAssertion {
  constructor() {
    super("no identity assertion");
  }
}

/**
 * Subgraph side: only the router's signature is believed. No header, or one that does not verify,
 * is an attack, a misrouted call or a bug (InvalidIdentityAssertion either way).
 */
export async function verifyIdentityAssertion(
  header: string | undefined,
  publicKey: Key,
): Promise<Assertion> {
  if (!header) throw new MissingIdentityAssertion();
  try {
    const { payload } = await jwtVerify(header, publicKey, {
      algorithms: ["EdDSA"],
      issuer: ASSERTION_ISSUER,
      audience: ASSERTION_AUDIENCE,
      typ: ASSERTION_TYPE,
      requiredClaims: ["exp", "iat"],
    });
    const client = {
      ip: typeof payload.ip === "string" ? payload.ip : null,
      userAgent: typeof payload.ua === "string" ? payload.ua : null,
    };
    const expiresAt = payload.exp!;
    if (payload.sub === undefined) return { identity: ANONYMOUS, client, expiresAt };
    const roles = Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [];
    const identity: UserIdentity = {
      kind: "user",
      userId: payload.sub,
      roles,
      sessionId: typeof payload.sid === "string" ? payload.sid : null,
      apiKeyId: typeof payload.key === "string" ? payload.key : null,
      scopes: typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : null,
    };
    return { identity, client, expiresAt };
  } catch (error) {
    throw new InvalidIdentityAssertion(error instanceof Error ? error.message : String(error));
  }
}

function isRole(value: unknown): value is Role {
  return value === Role.USER || value === Role.ADMIN;
}

export function hasRole(identity: Identity, role: Role): boolean {
  return identity.kind === "user" && identity.roles.includes(role);
}

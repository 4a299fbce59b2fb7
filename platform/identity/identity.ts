import { SignJWT, jwtVerify, type CryptoKey, type KeyObject } from "jose";
import { Role } from "./roles";

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

type Key = CryptoKey | KeyObject;

/** The caller's network facts as the router saw them; subgraphs never read them from raw headers. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

const NO_CLIENT: ClientInfo = { ip: null, userAgent: null };

export interface Assertion {
  identity: Identity;
  client: ClientInfo;
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
  const claims =
    identity.kind === "user"
      ? {
          roles: identity.roles,
          sid: identity.sessionId ?? undefined,
          key: identity.apiKeyId ?? undefined,
          scope: identity.scopes?.join(" "),
        }
      : {};
  const jwt = new SignJWT({ ...claims, ip: client.ip ?? undefined, ua: client.userAgent ?? undefined })
    .setProtectedHeader({ alg: "EdDSA", typ: ASSERTION_TYPE })
    .setIssuer(ASSERTION_ISSUER)
    .setAudience(ASSERTION_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ASSERTION_LIFETIME_SECONDS}s`);
  if (identity.kind === "user") jwt.setSubject(identity.userId);
  return jwt.sign(privateKey);
}

export class InvalidIdentityAssertion extends Error {}

/**
 * Subgraph side: no header is an anonymous caller that did not come through the router (so its
 * client facts are unknown); a header that does not verify is an attack or a bug.
 */
export async function verifyIdentityAssertion(
  header: string | undefined,
  publicKey: Key,
): Promise<Assertion> {
  if (!header) return { identity: ANONYMOUS, client: NO_CLIENT };
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
    if (payload.sub === undefined) return { identity: ANONYMOUS, client };
    const roles = Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [];
    const identity: UserIdentity = {
      kind: "user",
      userId: payload.sub,
      roles,
      sessionId: typeof payload.sid === "string" ? payload.sid : null,
      apiKeyId: typeof payload.key === "string" ? payload.key : null,
      scopes: typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : null,
    };
    return { identity, client };
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

import { SignJWT, jwtVerify, type CryptoKey, type KeyObject } from "jose";
import { Role } from "./roles";

/** Who is calling, as the router established it. Business code sees only this, never a token. */
export type Identity =
  | { kind: "anonymous" }
  | { kind: "user"; userId: string; roles: Role[]; sessionId: string; scopes: string[] | null };

export const ANONYMOUS: Identity = { kind: "anonymous" };

/** HTTP header that carries the router's signed identity assertion to subgraphs. */
export const IDENTITY_HEADER = "orion-identity";

const ASSERTION_TYPE = "orion-identity+jwt";
const ASSERTION_ISSUER = "orion-router";
const ASSERTION_AUDIENCE = "orion-subgraphs";
// Subgraph calls happen within one request; a minute covers clock skew without making a leaked assertion useful.
const ASSERTION_LIFETIME_SECONDS = 60;

type Key = CryptoKey | KeyObject;

/** Router side: turns a verified identity into a short-lived Ed25519-signed assertion. */
export async function signIdentityAssertion(identity: Identity, privateKey: Key): Promise<string | null> {
  if (identity.kind === "anonymous") return null;
  return new SignJWT({ roles: identity.roles, sid: identity.sessionId, scope: identity.scopes?.join(" ") })
    .setProtectedHeader({ alg: "EdDSA", typ: ASSERTION_TYPE })
    .setSubject(identity.userId)
    .setIssuer(ASSERTION_ISSUER)
    .setAudience(ASSERTION_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ASSERTION_LIFETIME_SECONDS}s`)
    .sign(privateKey);
}

export class InvalidIdentityAssertion extends Error {}

/** Subgraph side: no header is an anonymous caller; a header that does not verify is an attack or a bug. */
export async function verifyIdentityAssertion(header: string | undefined, publicKey: Key): Promise<Identity> {
  if (!header) return ANONYMOUS;
  try {
    const { payload } = await jwtVerify(header, publicKey, {
      algorithms: ["EdDSA"],
      issuer: ASSERTION_ISSUER,
      audience: ASSERTION_AUDIENCE,
      typ: ASSERTION_TYPE,
      requiredClaims: ["sub", "exp", "iat"],
    });
    const roles = Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [];
    const sid = typeof payload.sid === "string" ? payload.sid : "";
    const scope = typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : null;
    return { kind: "user", userId: payload.sub!, roles, sessionId: sid, scopes: scope };
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

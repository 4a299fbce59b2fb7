import { createRemoteJWKSet, jwtVerify } from "jose";
import { requestError } from "../platform/errors";
import type { Identity } from "../platform/identity/identity";
import { ALL_ROLES, type Role } from "../platform/identity/roles";

export interface AccessTokenSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

export type AccessTokenVerifier = (authorization: string | undefined) => Promise<Identity>;

/**
 * Verifies `Authorization: Bearer` access tokens against the auth subgraph's JWKS: RS256 only,
 * `typ` at+jwt, issuer, audience, expiry. The key set is cached and refetched for an unknown `kid`.
 * No header is an anonymous caller; a bad credential is refused, never downgraded to anonymous.
 */
export function accessTokenVerifier(settings: AccessTokenSettings): AccessTokenVerifier {
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl), {
    cacheMaxAge: 10 * 60_000,
    cooldownDuration: 30_000,
  });
  return async (authorization) => {
    if (authorization === undefined || authorization === "") return { kind: "anonymous" };
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization);
    if (!match) throw requestError("UNAUTHENTICATED", "Malformed Authorization header");
    try {
      const { payload } = await jwtVerify(match[1]!, jwks, {
        algorithms: ["RS256"],
        issuer: settings.issuer,
        audience: settings.audience,
        typ: "at+jwt",
        requiredClaims: ["sub", "sid", "exp", "iat"],
      });
      const roles = (Array.isArray(payload.roles) ? payload.roles : []).filter((r): r is Role =>
        ALL_ROLES.includes(r as Role),
      );
      const scope = typeof payload.scope === "string" && payload.scope ? payload.scope.split(" ") : null;
      return { kind: "user", userId: payload.sub!, roles, sessionId: String(payload.sid), scopes: scope };
    } catch {
      throw requestError("UNAUTHENTICATED", "Invalid or expired access token");
    }
  };
}

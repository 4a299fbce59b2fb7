import type { IncomingMessage } from "node:http";

import { decodeJwt } from "jose";

import { ANONYMOUS, type ClientInfo, type Identity } from "../../../platform/identity/identity";
import { ALL_ROLES, type Role } from "../../../platform/identity/roles";

/**
 * The comparison gateways (b, c) and the monolith (d) need to know who calls, and ship nothing for
 * it. They take the bearer token's claims WITHOUT verifying its signature or its session: less work
 * than ORION's router does (RS256 check against the JWKS, session looked up in Redis), so any error
 * here is in the other targets' favour. Never do this outside a benchmark on loopback.
 */
export function identityFromBearer(authorization: string | null | undefined): Identity {
  const token = authorization?.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : null;
  if (!token) return ANONYMOUS;
  const claims = decodeJwt(token);
  if (typeof claims.sub !== "string") return ANONYMOUS;
  return {
    kind: "user",
    userId: claims.sub,
    roles: (Array.isArray(claims.roles) ? claims.roles : []).filter((role): role is Role =>
      ALL_ROLES.includes(role as Role),
    ),
    sessionId: typeof claims.sid === "string" ? claims.sid : null,
    apiKeyId: null,
    scopes: null,
  };
}

/** Who calls and from where, as the comparison servers (b, d) put it in their context. */
export function callerFromRequest(req: IncomingMessage): { identity: Identity; client: ClientInfo } {
  return {
    identity: identityFromBearer(req.headers.authorization),
    client: { ip: req.socket.remoteAddress ?? null, userAgent: req.headers["user-agent"] ?? null },
  };
}

/** The supergraph's routing URLs replaced by where this run's subgraphs listen. */
export function withSubgraphUrls(supergraphSdl: string, urls: Record<string, string>): string {
  return supergraphSdl.replace(/@join__graph\(name: "(\w+)", url: "[^"]*"\)/g, (whole, name: string) =>
    urls[name] ? `@join__graph(name: "${name}", url: "${urls[name]}")` : whole,
  );
}

/** What every target process reads from its environment (set by scripts/bench/router.ts). */
export function targetSettings(): {
  port: number;
  subgraphUrls: Record<string, string>;
  identityPrivateKey: string;
} {
  const port = Number(process.env.BENCH_PORT);
  const subgraphUrls = JSON.parse(process.env.BENCH_SUBGRAPH_URLS ?? "{}") as Record<string, string>;
  const identityPrivateKey = (process.env.IDENTITY_PRIVATE_KEY ?? "").replace(/\\n/g, "\n");
  if (!port || Object.keys(subgraphUrls).length === 0 || !identityPrivateKey)
    throw new Error("BENCH_PORT, BENCH_SUBGRAPH_URLS and IDENTITY_PRIVATE_KEY must be set");
  return { port, subgraphUrls, identityPrivateKey };
}

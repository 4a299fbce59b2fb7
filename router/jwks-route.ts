import type { Express, RequestHandler } from "express";

import type { Logger } from "../platform/logger";

export const JWKS_PATH = "/.well-known/jwks.json";

export interface JwksRouteOptions {
  /** The auth subgraph's JWKS (the router's `jwksUrl`). */
  jwksUrl: string;
  logger: Logger;
  /** How long a fetched key set is served before it is fetched again. */
  ttlMs?: number;
  /** After a failed refresh, the stale set is served without asking auth again for this long. */
  retryAfterFailureMs?: number;
  /** Past this age, a stale set is no longer served: 503 instead. */
  maxStaleMs?: number;
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

interface JwkSet {
  keys: Record<string, unknown>[];
}

/** Members that only a private or symmetric JWK carries: never passed on, whatever auth answers. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/**
 * GET /.well-known/jwks.json on the router: the auth subgraph's key set, so clients and other
 * verifiers need to reach only the router. Cached in memory for `ttlMs`; when auth does not answer,
 * the last set is served stale (up to `maxStaleMs`), and before any set was fetched the answer is
 * a 503 JSON error. One fetch at a time, however many requests wait for it.
 */
export function jwksHandler(options: JwksRouteOptions): RequestHandler {
  const ttlMs = options.ttlMs ?? 60_000;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 5_000;
  const maxStaleMs = options.maxStaleMs ?? 60 * 60_000;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const now = options.now ?? Date.now;
  const fetchJson = options.fetch ?? fetch;

  let cached: { body: string; fetchedAt: number } | null = null;
  let nextAttemptAt = 0;
  let inFlight: Promise<void> | null = null;

  async function refresh(): Promise<void> {
    try {
      const response = await fetchJson(options.jwksUrl, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new Error(`auth answered HTTP ${response.status}`);
      const set = publicKeySet(await response.json());
      cached = { body: JSON.stringify(set), fetchedAt: now() };
      nextAttemptAt = now() + ttlMs;
    } catch (error) {
      nextAttemptAt = now() + retryAfterFailureMs;
      options.logger.warn(
        { err: error, jwksUrl: options.jwksUrl, stale: cached !== null },
        "could not fetch the auth subgraph's JWKS",
      );
    }
  }

  return async (_req, res) => {
    if (now() >= nextAttemptAt) {
      inFlight ??= refresh().finally(() => (inFlight = null));
      await inFlight;
    }
    if (cached === null || now() - cached.fetchedAt > maxStaleMs) {
      res
        .status(503)
        .set({ "cache-control": "no-store", "retry-after": String(Math.ceil(retryAfterFailureMs / 1000)) })
        .json({ error: "jwks_unavailable", message: "The signing keys are temporarily unavailable" });
      return;
    }
    res.set("cache-control", "public, max-age=300").type("application/json").send(cached.body);
  };
}

export function mountJwksRoute(app: Express, options: JwksRouteOptions): void {
  app.get(JWKS_PATH, jwksHandler(options));
}

function publicKeySet(value: unknown): JwkSet {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === "object" && key !== null)) {
    throw new Error("auth's JWKS has no `keys` array of objects");
  }
  return {
    keys: (keys as Record<string, unknown>[]).map((key) =>
      Object.fromEntries(Object.entries(key).filter(([member]) => !PRIVATE_MEMBERS.includes(member))),
    ),
  };
}

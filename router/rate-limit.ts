import { isIPv6 } from "node:net";
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { LRUCache } from "lru-cache";
import {
  RateLimiterMemory,
  RateLimiterRes,
  RLWrapperTimeouts,
  type RateLimiterAbstract,
} from "rate-limiter-flexible";
import { parseEnv, RATE_LIMIT_VARIABLES } from "../platform/config";
import { ErrorCode, unavailable } from "../platform/errors";
import type { ClientInfo, Identity } from "../platform/identity/identity";
import type { Logger } from "../platform/logger";
import type { KeyValueStore } from "../platform/store/key-value-store";
import type { RouterMetrics } from "./router-metrics";
import type { RouterContext } from "./context";

/**
 * Per-caller request budgets at the router (decision 003): every resolved operation costs points
 * (a mutation more than a query), counted per API key, per signed-in user or per anonymous
 * client address, in windows of `windowSeconds`.
 */
export interface RateLimitSettings {
  /** Length of one counting window, in seconds; every budget below is per window. */
  windowSeconds: number;
  /** Points per anonymous client address (an IPv6 /64 counts as one address). */
  anonymousPoints: number;
  /** Points per signed-in user, all their sessions together. */
  userPoints: number;
  /** Points per API key (separate from its owner's own budget). */
  apiKeyPoints: number;
  /** What a query (or subscription) costs. */
  queryCost: number;
  /** What a mutation costs. */
  mutationCost: number;
}

type RateLimitEnv = ReturnType<typeof parseEnv<(typeof RATE_LIMIT_VARIABLES)[number]>>;

export function rateLimitSettingsFromEnv(env: RateLimitEnv): RateLimitSettings {
  return {
    windowSeconds: env.RATE_LIMIT_WINDOW,
    anonymousPoints: env.RATE_LIMIT_ANONYMOUS_POINTS,
    userPoints: env.RATE_LIMIT_USER_POINTS,
    apiKeyPoints: env.RATE_LIMIT_API_KEY_POINTS,
    queryCost: env.RATE_LIMIT_QUERY_COST,
    mutationCost: env.RATE_LIMIT_MUTATION_COST,
  };
}

/** The documented defaults (those of platform/config.ts, read with an empty environment). */
export const DEFAULT_RATE_LIMITS: RateLimitSettings = rateLimitSettingsFromEnv(
  parseEnv(RATE_LIMIT_VARIABLES, {}),
);

/** Response headers the limiter sets; CORS must expose them for browser clients to read them. */
export const RATE_LIMIT_HEADERS = [
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
  "RateLimit-Policy",
  "Retry-After",
];

/**
 * How long the shared store may take to count a request before the per-process counter decides
 * instead. The store already fails at once while Redis is disconnected; this bounds a Redis that is
 * connected but not answering.
 */
const STORE_TIMEOUT_MS = 250;
/** At most one "counting per process" warning per this many milliseconds. */
const FALLBACK_WARNING_EVERY_MS = 30_000;

type CallerClass = "anonymous" | "user" | "apiKey";

const LIMITER_NAMES: Record<CallerClass, string> = {
  anonymous: "router-anonymous",
  user: "router-user",
  apiKey: "router-api-key",
};

export interface RateLimitDecision {
  allowed: boolean;
  /** The caller's budget per window. */
  limit: number;
  /** Points left in the current window (never negative). */
  remaining: number;
  /** Seconds until the current window ends and the budget is whole again (at least 1). */
  resetSeconds: number;
  windowSeconds: number;
}

/** Who pays for a request: the API key, else the user, else the client's address. */
export function rateLimitSubject(identity: Identity, client: ClientInfo): { kind: CallerClass; key: string } {
  if (identity.kind === "user" && identity.apiKeyId) return { kind: "apiKey", key: identity.apiKeyId };
  if (identity.kind === "user") return { kind: "user", key: identity.userId };
  return { kind: "anonymous", key: addressKey(client.ip) };
}

/**
 * An anonymous caller's counter key: the IPv4 address, or the /64 network of an IPv6 address (one
 * subscriber usually holds a whole /64, so per-address counting would be trivially evaded).
 */
export function addressKey(ip: string | null): string {
  if (!ip) return "unknown";
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const address = ip.split("%")[0]!;
  if (!isIPv6(address)) return ip;
  return `${ipv6Groups(address).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lowercase hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const parse = (part: string) =>
    part === ""
      ? []
      : part.split(":").flatMap((group) => {
          if (!group.includes(".")) return [group];
          const [a, b, c, d] = group.split(".").map(Number) as [number, number, number, number];
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const gap = address.indexOf("::");
  const groups =
    gap < 0
      ? parse(address)
      : (() => {
          const head = parse(address.slice(0, gap));
          const tail = parse(address.slice(gap + 2));
          return [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail];
        })();
  return groups.map((group) => parseInt(group, 16).toString(16));
}

/** The per-process counter used while the shared store does not answer; it notes each use. */
class PerProcessFallback extends RateLimiterMemory {
  constructor(
    options: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly onUse: () => void,
  ) {
    super(options);
  }

  override consume(key: string | number, points?: number, options?: Record<string, unknown>) {
    this.onUse();
    return super.consume(key, points, options);
  }
}

/**
 * Counts requests against the caller's budget on the shared store (Redis: one atomic script per
 * request, shared by every router replica; memory in embedded mode). While the store fails or
 * stalls, the same budgets are counted in this process instead (rate-limiter-flexible's insurance
 * limiter): never unlimited. A caller known to be over budget is refused from memory until its
 * window ends, so a client hammering the router costs no store round trips.
 */
export class RouterRateLimiter {
  private readonly limiters: Record<CallerClass, RateLimiterAbstract>;
  private readonly points: Record<CallerClass, number>;
  /** Callers refused in their current window: `${class}:${key}` → when that window ends (epoch ms). */
  private readonly exhausted = new LRUCache<string, number>({ max: 100_000 });
  private lastFallbackWarning = 0;

  constructor(
    store: KeyValueStore,
    private readonly settings: RateLimitSettings,
    private readonly logger: Logger,
  ) {
    validate(settings);
    this.points = {
      anonymous: settings.anonymousPoints,
      user: settings.userPoints,
      apiKey: settings.apiKeyPoints,
    };
    const limiter = (kind: CallerClass) =>
      new RLWrapperTimeouts({
        limiter: store.rateLimiter({
          name: LIMITER_NAMES[kind],
          points: this.points[kind],
          durationSeconds: settings.windowSeconds,
        }),
        timeoutMs: STORE_TIMEOUT_MS,
        insuranceLimiter: new PerProcessFallback(
          {
            keyPrefix: `fallback:${LIMITER_NAMES[kind]}`,
            points: this.points[kind],
            duration: settings.windowSeconds,
          },
          () => this.warnFallback(),
        ),
      });
    this.limiters = { anonymous: limiter("anonymous"), user: limiter("user"), apiKey: limiter("apiKey") };
  }

  /** Charges one operation to the caller and says whether it may run. */
  async check(identity: Identity, client: ClientInfo, operation: string): Promise<RateLimitDecision> {
    const { kind, key } = rateLimitSubject(identity, client);
    const limit = this.points[kind];
    const cost = operation === "mutation" ? this.settings.mutationCost : this.settings.queryCost;
    const decision = (res: RateLimiterRes, allowed: boolean): RateLimitDecision => ({
      allowed,
      limit,
      remaining: allowed ? Math.max(0, res.remainingPoints) : 0,
      resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
      windowSeconds: this.settings.windowSeconds,
    });
    const exhaustedKey = `${kind}:${key}`;
    const until = this.exhausted.get(exhaustedKey);
    if (until !== undefined && until > Date.now())
      return decision(new RateLimiterRes(0, until - Date.now()), false);
    try {
      return decision(await this.limiters[kind].consume(key, cost), true);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) {
        // Both the store and the per-process counter failed: refuse rather than let the request through.
        this.logger.error({ err: error }, "rate limiter failed");
        throw unavailable("Rate limits cannot be checked right now; retry shortly");
      }
      // The window's counter only grows until it ends: every request before then is refused too.
      this.exhausted.set(exhaustedKey, Date.now() + error.msBeforeNext, {
        ttl: Math.max(1, error.msBeforeNext),
      });
      return decision(error, false);
    }
  }

  private warnFallback(): void {
    const now = Date.now();
    if (now - this.lastFallbackWarning < FALLBACK_WARNING_EVERY_MS) return;
    this.lastFallbackWarning = now;
    this.logger.warn("rate-limit store unreachable: budgets are counted per router process meanwhile");
  }
}

function validate(settings: RateLimitSettings): void {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(settings))
    if (!Number.isInteger(value) || value < 1) problems.push(`${name} must be a whole number ≥ 1`);
  const budgets = {
    anonymousPoints: settings.anonymousPoints,
    userPoints: settings.userPoints,
    apiKeyPoints: settings.apiKeyPoints,
  };
  for (const [name, points] of Object.entries(budgets)) {
    if (settings.mutationCost > points || settings.queryCost > points)
      problems.push(`${name} (${points}) is below the cost of one operation: such callers could do nothing`);
  }
  if (problems.length > 0) throw new Error(`Invalid rate limits: ${problems.join("; ")}`);
}

/** RATE_LIMITED, HTTP 429 with `Retry-After`, and `extensions.retryAfter` in seconds. */
export function rateLimited(retryAfterSeconds: number): GraphQLError {
  // Apollo Server takes `http.headers` only as a Map (typed loosely: other packages augment the type).
  const extensions: Record<string, unknown> = {
    code: ErrorCode.RATE_LIMITED,
    retryAfter: retryAfterSeconds,
    http: { status: 429, headers: new Map([["retry-after", String(retryAfterSeconds)]]) },
  };
  return new GraphQLError(`Too many requests; retry in ${retryAfterSeconds} s`, { extensions });
}

/**
 * Charges each operation once it is resolved (its type is known; nothing has reached a subgraph
 * yet) and sets the `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers) on every such
 * response; over budget it answers 429 RATE_LIMITED before anything executes.
 */
export function rateLimitPlugin(
  limiter: RouterRateLimiter,
  metrics?: Pick<RouterMetrics, "rateLimited">,
): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, response }) {
          const decision = await limiter.check(
            contextValue.identity,
            contextValue.client,
            operation?.operation ?? "query",
          );
          const headers = response.http.headers;
          headers.set("ratelimit-limit", String(decision.limit));
          headers.set("ratelimit-remaining", String(decision.remaining));
          headers.set("ratelimit-reset", String(decision.resetSeconds));
          headers.set("ratelimit-policy", `${decision.limit};w=${decision.windowSeconds}`);
          if (!decision.allowed) {
            metrics?.rateLimited(contextValue.identity);
            throw rateLimited(decision.resetSeconds);
          }
        },
      };
    },
  };
}

import { LRUCache } from "lru-cache";
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRes,
  RLWrapperTimeouts,
} from "rate-limiter-flexible";

import { parseEnv, RATE_LIMIT_VARIABLES } from "../platform/config";
import { unavailable } from "../platform/errors";
import type { ClientInfo, Identity } from "../platform/identity/identity";
import type { Logger } from "../platform/logger";
import type { KeyValueStore } from "../platform/store/key-value-store";
import { type CallerClass, type RateLimitSubject, rateLimitSubject } from "./rate-limit-subject";

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
  /**
   * What a refused request costs once the router started reading its body (malformed JSON, body or
   * document over a limit, parse or validation failure, unknown persisted hash, not safelisted, bad
   * credentials, CSRF...). Refused on its headers alone it costs `queryCost`.
   */
  refusalCost: number;
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
    refusalCost: env.RATE_LIMIT_REFUSAL_COST,
  };
}

/** The documented defaults (those of platform/config/platform-variables.ts, read with an empty environment). */
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
  /** Points this answer charged (0 when refused from memory). */
  charged: number;
  /** Milliseconds until the window ends (`resetSeconds`, unrounded). */
  msBeforeReset: number;
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
  /** Refusal charges still being counted, by `${class}:${key}` (the latest one per caller). */
  private readonly pendingRefusals = new Map<string, Promise<unknown>>();
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
  check(identity: Identity, client: ClientInfo, operation: string): Promise<RateLimitDecision> {
    const cost = operation === "mutation" ? this.settings.mutationCost : this.settings.queryCost;
    return this.consume(rateLimitSubject(identity, client), cost);
  }

  /**
   * Charges `points` to the subject. Over budget the subject is remembered as exhausted until its
   * window ends: every later request of it is refused from memory, without a store round trip.
   */
  async consume(subject: RateLimitSubject, points: number): Promise<RateLimitDecision> {
    const refused = this.refusedFromMemory(subject);
    if (refused) return refused;
    try {
      return this.decision(subject, await this.limiters[subject.kind].consume(subject.key, points), points);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) {
        // Both the store and the per-process counter failed: refuse rather than let the request through.
        this.logger.error({ err: error }, "rate limiter failed");
        throw unavailable("Rate limits cannot be checked right now; retry shortly");
      }
      // The window's counter only grows until it ends: every request before then is refused too.
      this.exhausted.set(exhaustedKey(subject), Date.now() + error.msBeforeNext, {
        ttl: Math.max(1, error.msBeforeNext),
      });
      return this.decision(subject, error, points, false);
    }
  }

  /**
   * The refusal for a subject known to be over budget, or null: an in-process lookup, no store.
   * Waits for the subject's refusal charges still being counted, so that a client sending one
   * request after another is refused as soon as the refusal that spent its budget has answered.
   */
  async refusedEarly(subject: RateLimitSubject): Promise<RateLimitDecision | null> {
    const pending = this.pendingRefusals.get(exhaustedKey(subject));
    if (pending) await pending;
    return this.refusedFromMemory(subject);
  }

  /**
   * Charges a refused request after its answer left (the refusal needs no permission); a failure
   * is logged, as the request was refused anyway. Running charges are kept for `refusedEarly`.
   */
  chargeRefusal(subject: RateLimitSubject, points: number): void {
    if (points <= 0) return;
    const key = exhaustedKey(subject);
    const charge: Promise<unknown> = this.consume(subject, points)
      .catch(() => undefined) // consume logged it
      .finally(() => {
        if (this.pendingRefusals.get(key) === charge) this.pendingRefusals.delete(key);
      });
    this.pendingRefusals.set(key, charge);
  }

  /** What a refused request costs: `refusalCost` once its body was being read, `queryCost` before. */
  refusalCost(bodyRead: boolean): number {
    return bodyRead ? this.settings.refusalCost : this.settings.queryCost;
  }

  private refusedFromMemory(subject: RateLimitSubject): RateLimitDecision | null {
    const until = this.exhausted.get(exhaustedKey(subject));
    const left = until === undefined ? 0 : until - Date.now();
    return left > 0 ? this.decision(subject, new RateLimiterRes(0, left), 0, false) : null;
  }

  private decision(
    subject: RateLimitSubject,
    res: RateLimiterRes,
    charged: number,
    allowed = true,
  ): RateLimitDecision {
    return {
      allowed,
      limit: this.points[subject.kind],
      remaining: allowed ? Math.max(0, res.remainingPoints) : 0,
      resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
      windowSeconds: this.settings.windowSeconds,
      charged,
      msBeforeReset: Math.max(0, res.msBeforeNext),
    };
  }

  private warnFallback(): void {
    const now = Date.now();
    if (now - this.lastFallbackWarning < FALLBACK_WARNING_EVERY_MS) return;
    this.lastFallbackWarning = now;
    this.logger.warn("rate-limit store unreachable: budgets are counted per router process meanwhile");
  }
}

const exhaustedKey = (subject: RateLimitSubject) => `${subject.kind}:${subject.key}`;

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
    if (settings.mutationCost > points || settings.queryCost > points || settings.refusalCost > points)
      problems.push(
        `${name} (${points}) is below the cost of one operation or refusal: such callers could do nothing`,
      );
  }
  if (problems.length > 0) throw new Error(`Invalid rate limits: ${problems.join("; ")}`);
}

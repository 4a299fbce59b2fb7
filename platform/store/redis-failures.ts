import type { RateLimiterAbstract } from "rate-limiter-flexible";
import type { RedisClientType } from "redis";

import { DependencyUnavailableError } from "../outages";

/** How the Redis store fails: one error for "unreachable or too slow", and the deadlines behind it (the rate limiters' included). */

/** How long close() lets pending commands finish before dropping the connection. */
const CLOSE_TIMEOUT_MS = 2000;

export class RedisUnavailableError extends DependencyUnavailableError {
  constructor(
    message = "Redis is unreachable (reconnecting in the background)",
    cause?: unknown,
    mayHaveTakenEffect = false,
  ) {
    super("store", message, { cause, mayHaveTakenEffect });
    this.name = "RedisUnavailableError";
  }
}

/** No answer within the budget: the command was sent, and Redis may still run it. */
const noAnswerInTime = () => new RedisUnavailableError("Redis did not answer in time", undefined, true);

/** node-redis's own command timeout (its TimeoutError sets no name of its own). */
export const isCommandTimeout = (error: unknown) =>
  error instanceof Error && (error.constructor.name === "TimeoutError" || /timeout/i.test(error.message));

/** Closes gracefully when connected; drops the connection (and its reconnect loop) otherwise. */
export async function shutDown(client: RedisClientType): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    client.destroy();
    return;
  }
  const closed = await withDeadline(client.close(), CLOSE_TIMEOUT_MS).then(
    () => true,
    () => false,
  );
  if (!closed) client.destroy();
}

export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(noAnswerInTime()), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const LIMITER_CALLS = new Set<string | symbol>([
  "consume",
  "penalty",
  "reward",
  "block",
  "get",
  "set",
  "delete",
]);

/**
 * The limiters' scripts and MULTIs are not timed out by node-redis: each call gets the command
 * budget here. A limit reached (RateLimiterRes) passes through untouched.
 */
export function limiterWithinBudget(limiter: RateLimiterAbstract, budget: number): RateLimiterAbstract {
  return new Proxy(limiter, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function" || !LIMITER_CALLS.has(property)) return value;
      return (...args: unknown[]) =>
        withDeadline((value as (...a: unknown[]) => Promise<unknown>).apply(target, args), budget).catch(
          (error: unknown) => {
            // A limit reached (RateLimiterRes) is an answer, not a failure.
            if (!(error instanceof Error) || error instanceof RedisUnavailableError) throw error;
            throw new RedisUnavailableError(
              "the rate limiter's store did not answer",
              error,
              isCommandTimeout(error),
            );
          },
        );
    },
  });
}

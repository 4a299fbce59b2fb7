import { type RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";

import { DependencyUnavailableError } from "../../../platform/outages";
import type { KeyValueStore } from "../../../platform/store/key-value-store";

export interface LoginLimits {
  /** Failed logins allowed per account and IP before that pair is blocked. */
  perAccountAndIp: { points: number; durationSeconds: number; blockSeconds: number };
  /** Failed logins allowed per IP across all accounts (slow brute force, credential stuffing). */
  perIp: { points: number; durationSeconds: number; blockSeconds: number };
}

export type Admission = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Consumes one point of `limiter` for `key`: refused with the wait when the points are gone. A
 * store failure is thrown, so whatever the limiter guards fails closed.
 */
export async function admitOne(limiter: RateLimiterAbstract, key: string): Promise<Admission> {
  try {
    await limiter.consume(key);
    return { allowed: true };
  } catch (error) {
    if (error instanceof RateLimiterRes)
      return { allowed: false, retryAfterSeconds: Math.ceil(error.msBeforeNext / 1000) };
    throw storeOutage(error);
  }
}

/** The limiters reject with a bare Error when their store fails: say which dependency it was. */
const storeOutage = (error: unknown) =>
  error instanceof DependencyUnavailableError
    ? error
    : new DependencyUnavailableError("store", "the rate-limit store did not answer", { cause: error });

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perAccountAndIp: { points: 10, durationSeconds: 15 * 60, blockSeconds: 15 * 60 },
  perIp: { points: 100, durationSeconds: 3600, blockSeconds: 3600 },
};

/**
 * Failed-login limits on the shared store (rate-limiter-flexible; atomic in Redis across
 * replicas). Keys are per account+IP and per IP, never per account alone: an attacker elsewhere
 * cannot lock the owner out. The same counters guard every password check (login, password
 * change, account deletion), so a stolen access token cannot be used to guess the password either.
 */
export class LoginThrottle {
  private readonly byAccountAndIp: RateLimiterAbstract;
  private readonly byIp: RateLimiterAbstract;

  constructor(store: KeyValueStore, limits: LoginLimits) {
    this.byAccountAndIp = store.rateLimiter({ name: "login-account-ip", ...limits.perAccountAndIp });
    this.byIp = store.rateLimiter({ name: "login-ip", ...limits.perIp });
  }

  /**
   * Counts the attempt before the password is checked, atomically in the store: of N concurrent
   * guesses only the allowed number get through, whatever the replica. A store failure is
   * thrown: the check fails closed.
   */
  async admit(account: string, ip: string | null): Promise<Admission> {
    const counters: [RateLimiterAbstract, string][] = [
      [this.byAccountAndIp, pairKey(account, ip)],
      [this.byIp, ipKey(ip)],
    ];
    const settled = await Promise.allSettled(counters.map(([limiter, key]) => admitOne(limiter, key)));
    const failed = settled.flatMap((result, index) => (result.status === "rejected" ? [index] : []));
    if (failed.length > 0) {
      // A point whose answer timed out may still be taken by a slow store: it is given back (the
      // store runs that too, in order), so a slow Redis never locks anyone out. Nobody's password
      // was checked meanwhile.
      for (const [index, result] of settled.entries()) {
        const [limiter, key] = counters[index]!;
        const spent =
          result.status === "fulfilled"
            ? result.value.allowed
            : result.reason instanceof DependencyUnavailableError && result.reason.mayHaveTakenEffect;
        if (spent) void limiter.reward(key, 1).catch(() => undefined);
      }
      throw (settled[failed[0]!] as PromiseRejectedResult).reason;
    }
    const results = settled.map((result) => (result as PromiseFulfilledResult<Admission>).value);
    const refusals = results.filter((result) => !result.allowed);
    if (refusals.length === 0) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(...refusals.map((r) => r.retryAfterSeconds)) };
  }

  /** A right password: the attempt is given back and the account+IP counter starts over. */
  async succeeded(account: string, ip: string | null): Promise<void> {
    await Promise.all([
      this.byAccountAndIp.delete(pairKey(account, ip)),
      this.byIp.reward(ipKey(ip), 1),
    ]).catch((error: unknown) => {
      throw storeOutage(error);
    });
  }
}

const ipKey = (ip: string | null) => ip ?? "unknown";
const pairKey = (email: string, ip: string | null) => `${email}|${ipKey(ip)}`;

import type { RateLimiterAbstract } from "rate-limiter-flexible";
import type { KeyValueStore } from "../../../platform/store/key-value-store";

export interface LoginLimits {
  /** Failed logins allowed per account and IP before that pair is blocked. */
  perAccountAndIp: { points: number; durationSeconds: number; blockSeconds: number };
  /** Failed logins allowed per IP across all accounts (slow brute force, credential stuffing). */
  perIp: { points: number; durationSeconds: number; blockSeconds: number };
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perAccountAndIp: { points: 10, durationSeconds: 15 * 60, blockSeconds: 15 * 60 },
  perIp: { points: 100, durationSeconds: 3600, blockSeconds: 3600 },
};

/**
 * Failed-login limits on the shared store (rate-limiter-flexible; atomic in Redis across
 * replicas). Keys are per account+IP and per IP, never per account alone: an attacker elsewhere
 * cannot lock the owner out. A success clears the account+IP counter.
 */
export class LoginThrottle {
  private readonly byAccountAndIp: RateLimiterAbstract;
  private readonly byIp: RateLimiterAbstract;

  constructor(store: KeyValueStore, limits: LoginLimits) {
    this.byAccountAndIp = store.rateLimiter({ name: "login-account-ip", ...limits.perAccountAndIp });
    this.byIp = store.rateLimiter({ name: "login-ip", ...limits.perIp });
  }

  /** True when either counter is exhausted: the attempt fails without checking the password. */
  async isBlocked(email: string, ip: string | null): Promise<boolean> {
    const [pair, address] = await Promise.all([
      this.byAccountAndIp.get(pairKey(email, ip)),
      this.byIp.get(ipKey(ip)),
    ]);
    return isExhausted(pair, this.byAccountAndIp.points) || isExhausted(address, this.byIp.points);
  }

  async recordFailure(email: string, ip: string | null): Promise<void> {
    // consume() rejects once the points are gone; that rejection is the block itself, not an error.
    await Promise.allSettled([this.byAccountAndIp.consume(pairKey(email, ip)), this.byIp.consume(ipKey(ip))]);
  }

  async recordSuccess(email: string, ip: string | null): Promise<void> {
    await this.byAccountAndIp.delete(pairKey(email, ip));
  }
}

const ipKey = (ip: string | null) => ip ?? "unknown";
const pairKey = (email: string, ip: string | null) => `${email}|${ipKey(ip)}`;

function isExhausted(state: { consumedPoints: number } | null, points: number): boolean {
  return state !== null && state.consumedPoints >= points;
}

import { z } from "zod";

import {
  csv,
  type EnvOf,
  pem,
  type PlatformEnv,
  type SubgraphSettings,
  variable,
  type VariableCatalogue,
} from "../../platform/config";
import { DEFAULT_LOGIN_LIMITS, type LoginLimits } from "./services/login-throttle";
import { DEFAULT_BCRYPT_COST } from "./services/passwords";
import type { SessionPolicy } from "./services/session-store";
import type { TokenSettings } from "./services/token-issuer";

export interface AuthSettings extends TokenSettings {
  /** Base64 pepper for password pre-hashing. */
  pepper: string;
  /** bcrypt cost: 12 in every deployment (not configurable from the environment). */
  bcryptCost: number;
  sessions: SessionPolicy;
  /** Bootstrap: these addresses become ADMIN when they verify their e-mail. */
  adminEmails: string[];
  loginLimits: LoginLimits;
  /** Reset and verification e-mails one account may be sent on request. */
  mailRequestLimit: { points: number; durationSeconds: number };
}

/** The variables only auth reads. */
export const AUTH_VARIABLES = {
  AUTH_SIGNING_KEY: variable(
    pem("PRIVATE KEY"),
    "auth: RSA PKCS#8 keys (PEM blocks, oldest first); the last signs access tokens (RS256), all verify",
  ),
  AUTH_PASSWORD_PEPPER: variable(
    z
      .string()
      .trim()
      .refine((value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, "base64").length >= 32, {
        error: "must be at least 32 random bytes, base64-encoded",
      }),
    "auth: server-side pepper (HMAC-SHA-256 key applied to passwords before bcrypt)",
  ),
  AUTH_SESSION_IDLE_TIMEOUT: variable(
    z.coerce
      .number()
      .int()
      .min(60)
      .default(14 * 24 * 3600),
    "auth: seconds a session may go unused (no refresh) before it ends",
  ),
  AUTH_SESSION_LIFETIME: variable(
    z.coerce
      .number()
      .int()
      .min(60)
      .default(30 * 24 * 3600),
    "auth: seconds after sign-in when a session ends however active it is",
  ),
  AUTH_ADMIN_EMAILS: variable(
    csv,
    "auth: addresses made ADMIN once they verify their e-mail (bootstraps the first ADMIN)",
  ),
} satisfies VariableCatalogue;

/** The token's issuer and audience are shared with the router, so the platform declares them. */
const PLATFORM_VARIABLES = ["JWT_ISSUER", "JWT_AUDIENCE"] as const;

type AuthEnv = EnvOf<typeof AUTH_VARIABLES> & PlatformEnv<(typeof PLATFORM_VARIABLES)[number]>;

/** What the all-in-one process may change that the environment cannot (tests: short sessions, cheap bcrypt). */
export type AuthOverrides = Partial<
  Pick<AuthSettings, "sessions" | "adminEmails" | "loginLimits" | "bcryptCost">
>;

export function authSettingsFromEnv(env: AuthEnv, overrides: AuthOverrides = {}): AuthSettings {
  return {
    signingKey: env.AUTH_SIGNING_KEY,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    pepper: env.AUTH_PASSWORD_PEPPER,
    bcryptCost: DEFAULT_BCRYPT_COST,
    sessions: { idleSeconds: env.AUTH_SESSION_IDLE_TIMEOUT, lifetimeSeconds: env.AUTH_SESSION_LIFETIME },
    adminEmails: env.AUTH_ADMIN_EMAILS,
    loginLimits: DEFAULT_LOGIN_LIMITS,
    mailRequestLimit: { points: 5, durationSeconds: 3600 },
    ...overrides,
  };
}

export const authSettings: SubgraphSettings<AuthSettings, AuthOverrides> = {
  variables: AUTH_VARIABLES,
  platformVariables: PLATFORM_VARIABLES,
  fromEnv: authSettingsFromEnv,
};

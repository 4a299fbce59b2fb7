import type { ServiceEnv } from "../../platform/config";
import { DEFAULT_BCRYPT_COST } from "./services/passwords";
import { DEFAULT_LOGIN_LIMITS, type LoginLimits } from "./services/login-throttle";
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

type AuthVariables = Pick<
  ServiceEnv<"auth">,
  | "AUTH_SIGNING_KEY"
  | "AUTH_PASSWORD_PEPPER"
  | "AUTH_SESSION_IDLE_TIMEOUT"
  | "AUTH_SESSION_LIFETIME"
  | "AUTH_ADMIN_EMAILS"
  | "JWT_ISSUER"
  | "JWT_AUDIENCE"
>;

export function authSettingsFromEnv(env: AuthVariables): AuthSettings {
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
  };
}

import { randomBytes } from "node:crypto";

import type { EntityManager } from "@mikro-orm/postgresql";

import { EmailVerificationRequested, PasswordResetRequested } from "../../../contracts/events/auth";
import { hashSecret } from "../../../platform/identity/credential-store";
import { OneTimeToken, TokenPurpose } from "../entities/one-time-token.entity";
import type { AuthContext } from "../resolvers/context";

export { TokenPurpose };

export const TOKEN_LIFETIME_SECONDS: Record<TokenPurpose, number> = {
  [TokenPurpose.PASSWORD_RESET]: 30 * 60,
  [TokenPurpose.EMAIL_VERIFICATION]: 24 * 3600,
};

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Adds a fresh token for the user to the unit of work and retires the user's older unused ones
 * of the same purpose (a newer request invalidates older links). Returns the secret: it goes into
 * the e-mail and nowhere else.
 */
export async function issueOneTimeToken(em: EntityManager, userId: string, purpose: TokenPurpose) {
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + TOKEN_LIFETIME_SECONDS[purpose] * 1000);
  await em.nativeUpdate(OneTimeToken, { userId, purpose, usedAt: null }, { usedAt: new Date() });
  em.persist(Object.assign(new OneTimeToken(), { userId, purpose, tokenHash: hashSecret(token), expiresAt }));
  return { token, expiresAt };
}

/** The event on which the notification subgraph e-mails the link of each purpose. */
const LINK_REQUESTED = {
  [TokenPurpose.PASSWORD_RESET]: PasswordResetRequested,
  [TokenPurpose.EMAIL_VERIFICATION]: EmailVerificationRequested,
};

/**
 * Issues a fresh token and stages the event that has its link e-mailed, both in the request's unit
 * of work: a link goes out only for a token that committed.
 */
export async function sendOneTimeLink(
  ctx: Pick<AuthContext, "em" | "emit">,
  account: { id: string; email: string },
  purpose: TokenPurpose,
): Promise<void> {
  const { token, expiresAt } = await issueOneTimeToken(ctx.em, account.id, purpose);
  ctx.emit(LINK_REQUESTED[purpose], {
    userId: account.id,
    email: account.email,
    token,
    expiresAt: expiresAt.toISOString(),
  });
}

/**
 * Spends a token in one statement: of two concurrent uses exactly one gets the user id back.
 * Unknown, used, expired and other-purpose tokens all read the same: null.
 */
export async function consumeOneTimeToken(
  em: EntityManager,
  token: string,
  purpose: TokenPurpose,
): Promise<string | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const rows: { user_id: string }[] = await em.execute(
    `update one_time_tokens set used_at = now()
     where token_hash = ? and purpose = ? and used_at is null and expires_at > now()
     returning user_id`,
    [hashSecret(token), purpose],
  );
  return rows[0]?.user_id ?? null;
}

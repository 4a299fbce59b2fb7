import type { StoredSession } from "../../../platform/identity/credential-store";
import type { UserAccount } from "../entities/user-account.entity";
import type { AuthPayload } from "../resolvers/auth-payload.type";
import type { AuthContext } from "../resolvers/context";
import { ACCESS_TOKEN_TTL_SECONDS } from "./token-issuer";

/**
 * The AuthPayload of a session: a fresh access token carrying the account's current roles. The
 * rest of this response is read as that user (AuthPayload.user.email is theirs to see).
 */
export async function authPayload(
  account: UserAccount,
  session: StoredSession,
  refreshToken: string,
  ctx: AuthContext,
): Promise<AuthPayload> {
  const accessToken = await ctx.deps.tokens.issueAccessToken({
    userId: account.id,
    roles: account.roles,
    sessionId: session.id,
  });
  ctx.identity = {
    kind: "user",
    userId: account.id,
    roles: account.roles,
    sessionId: session.id,
    apiKeyId: null,
    scopes: null,
  };
  return { accessToken, refreshToken, expiresIn: ACCESS_TOKEN_TTL_SECONDS, user: account };
}

/**
 * Starts a session, then commits the unit of work that goes with it (the account, the audit
 * record, the events). The session is written first, so a store outage leaves nothing committed;
 * should the commit fail (the database, a conflict, a caller that stopped waiting), the session is
 * ended again: a client told "failed" has neither an account nor a session, and gets no e-mail.
 */
export async function startSessionAndCommit(account: UserAccount, ctx: AuthContext): Promise<AuthPayload> {
  ctx.deadline.throwIfExpired();
  const { session, refreshToken } = await ctx.deps.sessions.create(account.id, ctx.request);
  try {
    await ctx.em.flush();
  } catch (error) {
    await ctx.deps.sessions
      .revoke(session.id)
      .catch((revokeError: unknown) =>
        ctx.logger.warn(
          { err: revokeError, sessionId: session.id },
          "could not end the session of a failed sign-in; nobody holds its tokens and it expires unused",
        ),
      );
    throw error;
  }
  return authPayload(account, session, refreshToken, ctx);
}

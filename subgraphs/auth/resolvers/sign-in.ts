import type { StoredSession } from "../../../platform/identity/credential-store";
import type { UserAccount } from "../entities/user-account.entity";
import { ACCESS_TOKEN_TTL_SECONDS } from "../services/token-issuer";
import type { AuthPayload } from "./auth-payload.type";
import type { AuthContext } from "./context";

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

export async function startSession(account: UserAccount, ctx: AuthContext): Promise<AuthPayload> {
  const { session, refreshToken } = await ctx.deps.sessions.create(account.id, ctx.request);
  return authPayload(account, session, refreshToken, ctx);
}

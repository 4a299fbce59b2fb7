import { UniqueConstraintViolationException } from "@mikro-orm/core";
import { Arg, Ctx, Mutation, Resolver } from "type-graphql";

import { UserRegistered } from "../../../contracts/events/auth";
import { conflict, unauthenticated } from "../../../platform/errors";
import { validateInput } from "../../../platform/graphql/validation";
import { UserAccount } from "../entities/user-account.entity";
import { audit, AuditEventType } from "../services/audit-log";
import { noteDevice } from "../services/known-devices";
import { sendOneTimeLink, TokenPurpose } from "../services/one-time-tokens";
import { authPayload, startSessionAndCommit } from "../services/sign-in";
import { AuthPayload } from "./auth-payload.type";
import type { AuthContext } from "./context";
import { LoginInput, loginSchema, RegisterInput, registerSchema } from "./credentials.input";

const BAD_CREDENTIALS = "Invalid e-mail or password";

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload, {
    description:
      "Creates an account, sends a verification e-mail and signs in; CONFLICT if the address is taken",
  })
  async register(@Arg("input") input: RegisterInput, @Ctx() ctx: AuthContext): Promise<AuthPayload> {
    const { email, password, displayName } = validateInput(registerSchema, input);
    const account = Object.assign(new UserAccount(), {
      email,
      passwordHash: await ctx.deps.passwords.hash(password, ctx.deadline),
    });
    ctx.em.persist(account);
    audit(ctx.em, ctx, AuditEventType.USER_REGISTERED, { userId: account.id, actorId: account.id });
    // Staged in the same transaction as the account: committed together or not at all.
    ctx.emit(UserRegistered, { userId: account.id, email, displayName, locale: "en" });
    await sendOneTimeLink(ctx, account, TokenPurpose.EMAIL_VERIFICATION);
    await noteDevice(ctx, account);
    try {
      return await startSessionAndCommit(account, ctx);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException)
        throw conflict("This e-mail address is already registered");
      throw error;
    }
  }

  /**
   * Failed attempts count per account+IP and per IP; while either is exhausted every attempt fails
   * with the same message, the right password included. An unknown address is checked against a
   * dummy hash: both failures take as long and read the same.
   */
  @Mutation(() => AuthPayload, {
    description:
      "Signs in with e-mail and password; repeated failures block sign-in from that address for a while",
  })
  async login(@Arg("input") input: LoginInput, @Ctx() ctx: AuthContext): Promise<AuthPayload> {
    const { email, password } = validateInput(loginSchema, input);
    const { loginThrottle, passwords } = ctx.deps;
    const ip = ctx.request.ip;
    if (!(await loginThrottle.admit(email, ip)).allowed) {
      audit(ctx.em, ctx, AuditEventType.LOGIN_BLOCKED, { userId: null, actorId: null });
      await ctx.em.flush();
      throw unauthenticated(BAD_CREDENTIALS);
    }
    const account = await ctx.em.findOne(UserAccount, { email });
    if (!(await passwords.verify(password, account?.passwordHash ?? null, ctx.deadline)) || !account) {
      audit(ctx.em, ctx, AuditEventType.LOGIN_FAILED, { userId: account?.id ?? null, actorId: null });
      await ctx.em.flush();
      throw unauthenticated(BAD_CREDENTIALS);
    }
    await loginThrottle.succeeded(email, ip);
    await noteDevice(ctx, account);
    audit(ctx.em, ctx, AuditEventType.LOGIN_SUCCEEDED, { userId: account.id, actorId: account.id });
    return startSessionAndCommit(account, ctx);
  }

  /** Single use: a rotated token presented again ends its whole session and is recorded. */
  @Mutation(() => AuthPayload, { description: "Reuse of a rotated token revokes the session" })
  async refreshSession(
    @Arg("refreshToken") refreshToken: string,
    @Ctx() ctx: AuthContext,
  ): Promise<AuthPayload> {
    // The account is read before the token is spent: should the database be out, the client's
    // retry with the same token is a refresh, not a reuse that would end the session.
    const holder = await ctx.deps.sessions.holderOf(refreshToken);
    const account = holder ? await ctx.em.findOne(UserAccount, { id: holder.userId }) : null;
    ctx.deadline.throwIfExpired();
    const result = await ctx.deps.sessions.rotate(refreshToken);
    if (result.kind === "reused") {
      audit(ctx.em, ctx, AuditEventType.REFRESH_TOKEN_REUSED, {
        userId: result.userId,
        actorId: null,
        details: { sessionId: result.sessionId },
      });
      await ctx.em.flush();
      ctx.logger.warn(
        { sessionId: result.sessionId, userId: result.userId },
        "refresh token reuse: session revoked",
      );
      throw unauthenticated("This refresh token was already used; the session has been ended");
    }
    if (result.kind === "invalid") throw unauthenticated("Invalid or expired refresh token");
    if (!account || account.id !== result.session.userId) {
      await ctx.deps.sessions.revoke(result.session.id);
      throw unauthenticated("Invalid or expired refresh token");
    }
    return authPayload(account, result.session, result.refreshToken, ctx);
  }
}

import { setTimeout as sleep } from "node:timers/promises";

import { Arg, Ctx, Mutation, Resolver } from "type-graphql";

import { PasswordChanged } from "../../../contracts/events/auth";
import { badUserInput } from "../../../platform/errors";
import { requireSession } from "../../../platform/graphql/context";
import { validateInput } from "../../../platform/graphql/validation";
import { Role } from "../../../platform/identity/roles";
import { UserAccount } from "../entities/user-account.entity";
import { audit, AuditEventType } from "../services/audit-log";
import { admitOne } from "../services/login-throttle";
import { consumeOneTimeToken, sendOneTimeLink, TokenPurpose } from "../services/one-time-tokens";
import { confirmPassword } from "../services/password-check";
import type { AuthContext } from "./context";
import {
  ChangePasswordInput,
  changePasswordSchema,
  emailSchema,
  ResetPasswordInput,
  resetPasswordSchema,
} from "./credentials.input";

/**
 * requestPasswordReset answers no sooner than this, known address or not, so its timing does not
 * tell whether an account exists (the real work takes a few milliseconds; this hides them).
 */
const RESET_REQUEST_FLOOR_MS = 400;

@Resolver()
export class PasswordResolver {
  @Mutation(() => Boolean, { description: "Ends the caller's other sessions" })
  async changePassword(@Arg("input") input: ChangePasswordInput, @Ctx() ctx: AuthContext): Promise<boolean> {
    const caller = requireSession(ctx);
    const { currentPassword, newPassword } = validateInput(changePasswordSchema, input);
    const account = await ctx.em.findOneOrFail(UserAccount, { id: caller.userId });
    await confirmPassword(ctx, account, currentPassword, "input.currentPassword");
    const newHash = await ctx.deps.passwords.hash(newPassword, ctx.deadline);
    // Sessions end first: should the store fail, the password stays as it was rather than
    // changing while the old sessions live on.
    const ended = await ctx.deps.sessions.revokeAllForUser(account.id, caller.sessionId);
    account.passwordHash = newHash;
    audit(ctx.em, ctx, AuditEventType.PASSWORD_CHANGED, {
      userId: account.id,
      details: { endedSessions: ended },
    });
    ctx.emit(PasswordChanged, { userId: account.id, email: account.email, reason: "changed" });
    await ctx.em.flush();
    ctx.logger.info({ userId: account.id, endedSessions: ended }, "password changed");
    return true;
  }

  @Mutation(() => Boolean, { description: "True whether or not the address exists" })
  async requestPasswordReset(@Arg("email") email: string, @Ctx() ctx: AuthContext): Promise<boolean> {
    const address = validateInput(emailSchema, email, "email");
    const floor = sleep(RESET_REQUEST_FLOOR_MS);
    const account = await ctx.em.findOne(UserAccount, { email: address });
    // Over the limit the answer stays the same; only the e-mail is not sent again.
    if (account && (await admitOne(ctx.deps.mailRequests, account.id)).allowed) {
      await sendOneTimeLink(ctx, account, TokenPurpose.PASSWORD_RESET);
      audit(ctx.em, ctx, AuditEventType.PASSWORD_RESET_REQUESTED, { userId: account.id, actorId: null });
      await ctx.em.flush();
    }
    await floor;
    return true;
  }

  /** Single use, expiring; ends every session and signs nobody in: the user logs in afresh. */
  @Mutation(() => Boolean, { description: "The token is single use and expires" })
  async resetPassword(@Arg("input") input: ResetPasswordInput, @Ctx() ctx: AuthContext): Promise<boolean> {
    const { token, newPassword } = validateInput(resetPasswordSchema, input);
    const newHash = await ctx.deps.passwords.hash(newPassword, ctx.deadline);
    // One transaction: the token is spent only if the password changes with it, so a client told
    // "failed" (the store or the database out) can use the same link again.
    await ctx.em.transactional(async (em) => {
      const userId = await consumeOneTimeToken(em, token, TokenPurpose.PASSWORD_RESET);
      const account = userId ? await em.findOne(UserAccount, { id: userId }) : null;
      if (!account) throw badUserInput("input.token", "input.token: is invalid, used or expired");
      await ctx.deps.sessions.revokeAllForUser(account.id);
      account.passwordHash = newHash;
      audit(em, ctx, AuditEventType.PASSWORD_RESET, { userId: account.id, actorId: null });
      ctx.emit(PasswordChanged, { userId: account.id, email: account.email, reason: "reset" }, em);
      ctx.deadline.throwIfExpired();
    });
    return true;
  }

  @Mutation(() => Boolean, { description: "Confirms the address with the token of a verification e-mail" })
  async verifyEmail(@Arg("token") token: string, @Ctx() ctx: AuthContext): Promise<boolean> {
    // The token is spent in the same transaction as the verification it confirms.
    await ctx.em.transactional(async (em) => {
      const userId = await consumeOneTimeToken(em, token, TokenPurpose.EMAIL_VERIFICATION);
      const account = userId ? await em.findOne(UserAccount, { id: userId }) : null;
      if (!account) throw badUserInput("token", "token: is invalid, used or expired");
      account.emailVerified = true;
      audit(em, ctx, AuditEventType.EMAIL_VERIFIED, { userId: account.id, actorId: null });
      if (ctx.deps.adminEmails.has(account.email) && !account.roles.includes(Role.ADMIN)) {
        account.roles = [...account.roles, Role.ADMIN];
        audit(em, ctx, AuditEventType.ROLES_CHANGED, {
          userId: account.id,
          actorId: null,
          details: { roles: account.roles, reason: "AUTH_ADMIN_EMAILS" },
        });
      }
      ctx.deadline.throwIfExpired();
    });
    return true;
  }
}

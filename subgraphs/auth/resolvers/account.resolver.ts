import { Arg, Ctx, ID, Mutation, Resolver } from "type-graphql";
import { z } from "zod";

import { UserDeleted } from "../../../contracts/events/auth";
import { isUuid } from "../../../platform/database/loaders";
import { conflict, notFound, publicError } from "../../../platform/errors";
import { requireSession } from "../../../platform/graphql/context";
import { validateInput } from "../../../platform/graphql/validation";
import { Role } from "../../../platform/identity/roles";
import { AccountErasure } from "../entities/account-erasure.entity";
import { ApiKeyRecord } from "../entities/api-key-record.entity";
import { OneTimeToken } from "../entities/one-time-token.entity";
import { UserAccount } from "../entities/user-account.entity";
import { audit, AuditEventType } from "../services/audit-log";
import { admitOne } from "../services/login-throttle";
import { sendOneTimeLink, TokenPurpose } from "../services/one-time-tokens";
import { confirmPassword } from "../services/password-check";
import type { AuthContext } from "./context";
import { passwordSchema } from "./credentials.input";
import { User } from "./user.type";

const rolesSchema = z
  .array(z.enum(Role))
  .min(1, { error: "must name at least one role" })
  .transform((roles) => [...new Set(roles)].sort());

@Resolver()
export class AccountResolver {
  /** Takes effect when the user's access token is next refreshed (tokens carry roles). */
  @Mutation(() => User, { description: "ADMIN only; effective at the user's next token refresh" })
  async setUserRoles(
    @Arg("userId", () => ID) userId: string,
    @Arg("roles", () => [Role]) roles: Role[],
    @Ctx() ctx: AuthContext,
  ): Promise<User> {
    const next = validateInput(rolesSchema, roles, "roles");
    const account = isUuid(userId) ? await ctx.em.findOne(UserAccount, { id: userId }) : null;
    if (!account) throw notFound("No such user");
    const before = [...account.roles].sort();
    if (before.includes(Role.ADMIN) && !next.includes(Role.ADMIN)) {
      const admins = await ctx.em.count(UserAccount, { roles: { $contains: [Role.ADMIN] } });
      if (admins <= 1) throw conflict("At least one ADMIN must remain");
    }
    account.roles = next;
    audit(ctx.em, ctx, AuditEventType.ROLES_CHANGED, {
      userId: account.id,
      details: { before, after: next },
    });
    await ctx.em.flush();
    // API keys act with their owner's roles: their lookup copies change now.
    const keys = await ctx.em.find(ApiKeyRecord, { userId: account.id, revokedAt: null });
    await Promise.all(keys.map((key) => ctx.deps.apiKeys.publish(key, next)));
    return account;
  }

  @Mutation(() => Boolean, { description: "Sends a new verification e-mail; older links stop working" })
  async requestEmailVerification(@Ctx() ctx: AuthContext): Promise<boolean> {
    const caller = requireSession(ctx);
    const account = await ctx.em.findOneOrFail(UserAccount, { id: caller.userId });
    if (account.emailVerified) return false;
    const admission = await admitOne(ctx.deps.mailRequests, account.id);
    if (!admission.allowed)
      throw publicError("RATE_LIMITED", "Too many verification e-mails; try again later", {
        retryAfter: admission.retryAfterSeconds,
      });
    await sendOneTimeLink(ctx, account, TokenPurpose.EMAIL_VERIFICATION);
    await ctx.em.flush();
    return true;
  }

  /**
   * Credentials, keys and sessions go at once; the audit trail keeps the user id. Other subgraphs
   * erase their data when they receive UserDeleted.
   */
  @Mutation(() => Boolean, { description: "Every subgraph erases the user's data" })
  async deleteMyAccount(@Arg("password") password: string, @Ctx() ctx: AuthContext): Promise<boolean> {
    const caller = requireSession(ctx);
    const checked = validateInput(passwordSchema, password, "password");
    const account = await ctx.em.findOneOrFail(UserAccount, { id: caller.userId });
    await confirmPassword(ctx, account, checked, "password");
    // Credentials stop working first (store), then the records go (database): a failure between
    // the two leaves an account that cannot be used, never a deleted one whose tokens still work.
    const keys = await ctx.em.find(ApiKeyRecord, { userId: account.id, revokedAt: null });
    await Promise.all(keys.map((key) => ctx.deps.apiKeys.withdraw(key)));
    await ctx.deps.sessions.revokeAllForUser(account.id);
    await ctx.em.transactional(async (em) => {
      // Key rows stay, revoked and nameless, so a restart never republishes them.
      await em.nativeUpdate(ApiKeyRecord, { userId: account.id }, { revokedAt: new Date(), name: "deleted" });
      await em.nativeDelete(OneTimeToken, { userId: account.id });
      await em.nativeDelete(UserAccount, { id: account.id });
      audit(em, ctx, AuditEventType.ACCOUNT_DELETED, { userId: account.id });
      em.persist(Object.assign(new AccountErasure(), { userId: account.id }));
      ctx.emit(UserDeleted, { userId: account.id }, em);
    });
    return true;
  }
}

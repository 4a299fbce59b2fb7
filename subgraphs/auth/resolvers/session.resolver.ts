import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";

import { notFound } from "../../../platform/errors";
import { requireSession } from "../../../platform/graphql/context";
import { audit, AuditEventType } from "../services/audit-log";
import type { AuthContext } from "./context";
import { Session } from "./session.type";

@Resolver()
export class SessionResolver {
  @Query(() => [Session], { description: "The caller's active sessions" })
  async mySessions(@Ctx() ctx: AuthContext): Promise<Session[]> {
    const caller = requireSession(ctx);
    const sessions = await ctx.deps.sessions.listForUser(caller.userId);
    return sessions.map((s) => ({
      id: s.id,
      createdAt: new Date(s.createdAt),
      lastUsedAt: new Date(s.lastUsedAt),
      userAgent: s.userAgent,
      ipAddress: s.ipAddress,
      current: s.id === caller.sessionId,
    }));
  }

  @Mutation(() => Boolean, { description: "Ends the caller's current session" })
  async logout(@Ctx() ctx: AuthContext): Promise<boolean> {
    const caller = requireSession(ctx);
    await ctx.deps.sessions.revoke(caller.sessionId);
    audit(ctx.em, ctx, AuditEventType.SESSION_REVOKED, {
      userId: caller.userId,
      details: { sessionId: caller.sessionId, reason: "logout" },
    });
    await ctx.em.flush();
    return true;
  }

  @Mutation(() => Int, { description: "Ends all the caller's sessions; returns how many" })
  async logoutEverywhere(@Ctx() ctx: AuthContext): Promise<number> {
    const caller = requireSession(ctx);
    const ended = await ctx.deps.sessions.revokeAllForUser(caller.userId);
    audit(ctx.em, ctx, AuditEventType.LOGGED_OUT_EVERYWHERE, { userId: caller.userId, details: { ended } });
    await ctx.em.flush();
    return ended;
  }

  @Mutation(() => Boolean, { description: "Ends one of the caller's sessions" })
  async revokeSession(@Arg("id", () => ID) id: string, @Ctx() ctx: AuthContext): Promise<boolean> {
    const caller = requireSession(ctx);
    const session = await ctx.deps.sessions.get(id);
    // Someone else's session reads exactly like a session that does not exist.
    if (!session || session.userId !== caller.userId) throw notFound("No such session");
    await ctx.deps.sessions.revoke(id);
    audit(ctx.em, ctx, AuditEventType.SESSION_REVOKED, {
      userId: caller.userId,
      details: { sessionId: id, reason: "revoked" },
    });
    await ctx.em.flush();
    return true;
  }
}

import { Ctx, Query, Resolver } from "type-graphql";
import { unauthenticated } from "../../../platform/errors";
import type { AuthContext } from "./context";
import { Session } from "./session.type";

@Resolver()
export class SessionResolver {
  @Query(() => [Session], { description: "The caller's active sessions" })
  async mySessions(@Ctx() ctx: AuthContext): Promise<Session[]> {
    if (ctx.identity.kind !== "user") throw unauthenticated();
    const { sessionId } = ctx.identity;
    const sessions = await ctx.deps.sessions.listForUser(ctx.identity.userId);
    return sessions.map((s) => ({
      id: s.id,
      createdAt: new Date(s.createdAt),
      lastUsedAt: new Date(s.lastUsedAt),
      userAgent: s.userAgent,
      ipAddress: s.ipAddress,
      current: s.id === sessionId,
    }));
  }
}

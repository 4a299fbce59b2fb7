import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root } from "type-graphql";
import { z } from "zod";
import { badUserInput, notFound, unauthenticated } from "../../../platform/errors";
import { isUuid } from "../../../platform/database/loaders";
import { decodeCursor, encodeCursor } from "../../../platform/graphql/page-info.type";
import { validateInput } from "../../../platform/graphql/validation";
import { Notification } from "../entities/notification.entity";
import type { NotificationContext } from "./context";
import { NotificationConnection, NotificationType } from "./notification.type";
import { User } from "./user.type";

const firstSchema = z
  .number()
  .int()
  .min(1, { error: "must be between 1 and 100" })
  .max(100, { error: "must be between 1 and 100" });

@Resolver(() => User)
export class InboxResolver {
  @FieldResolver(() => NotificationConnection, { description: "Self or ADMIN; newest first" })
  async notifications(
    @Root() user: User,
    @Ctx() ctx: NotificationContext,
    @Arg("first", () => Int, { defaultValue: 20 }) first: number,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
    @Arg("unreadOnly", () => Boolean, { defaultValue: false }) unreadOnly?: boolean,
  ): Promise<NotificationConnection> {
    validateInput(firstSchema, first, "first");
    const position = after ? decodeCursor(after) : null;
    if (
      after &&
      (!position || position.length !== 2 || typeof position[0] !== "string" || !isUuid(String(position[1])))
    ) {
      throw badUserInput("after", "after: not a cursor from this list");
    }
    const page = await ctx.loaders.pages.load({
      userId: user.id,
      first,
      after: position ? { createdAt: String(position[0]), id: String(position[1]) } : null,
      unreadOnly: unreadOnly ?? false,
    });
    const edges = page.rows.map((node) => ({
      cursor: encodeCursor([node.createdAt.toISOString(), node.id]),
      node,
    }));
    return {
      edges,
      totalCount: page.totalCount,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    };
  }

  @FieldResolver(() => Int)
  unreadNotificationCount(@Root() user: User, @Ctx() ctx: NotificationContext): Promise<number> {
    return ctx.loaders.unreadCounts.load(user.id);
  }
}

@Resolver(() => NotificationType)
export class NotificationResolver {
  @Mutation(() => NotificationType)
  async markNotificationRead(
    @Arg("id", () => ID) id: string,
    @Ctx() ctx: NotificationContext,
  ): Promise<Notification> {
    if (ctx.identity.kind !== "user") throw unauthenticated();
    // Someone else's notification answers NOT_FOUND, like a missing one: its existence is not the caller's to know.
    const notification = isUuid(id)
      ? await ctx.em.findOne(Notification, { id, userId: ctx.identity.userId })
      : null;
    if (!notification) throw notFound("Notification not found");
    notification.readAt ??= new Date();
    await ctx.em.flush();
    return notification;
  }
}

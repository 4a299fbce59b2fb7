import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root } from "type-graphql";

import { isUuid } from "../../../platform/database/loaders";
import { notFound } from "../../../platform/errors";
import { requireUser } from "../../../platform/graphql/context";
import { decodePosition, FirstArg, pageSize, toConnection } from "../../../platform/graphql/page-info.type";
import { Notification } from "../entities/notification.entity";
import type { NotificationContext } from "./context";
import { NotificationConnection, NotificationType } from "./notification.type";
import { User } from "./user.type";

@Resolver(() => User)
export class InboxResolver {
  @FieldResolver(() => NotificationConnection, { description: "Self or ADMIN; newest first" })
  async notifications(
    @Root() user: User,
    @Ctx() ctx: NotificationContext,
    @FirstArg() first: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
    @Arg("unreadOnly", () => Boolean, { defaultValue: false, nullable: true }) unreadOnly?: boolean | null,
  ): Promise<NotificationConnection> {
    const page = await ctx.loaders.pages.load({
      userId: user.id,
      first: pageSize(first),
      after: decodePosition(after),
      unreadOnly: unreadOnly ?? false,
    });
    return toConnection(
      page,
      (node) => node,
      (node) => node,
    );
  }

  @FieldResolver(() => Int, { description: "Self or ADMIN; how many notifications are unread" })
  unreadNotificationCount(@Root() user: User, @Ctx() ctx: NotificationContext): Promise<number> {
    return ctx.loaders.unreadCounts.load(user.id);
  }
}

@Resolver(() => NotificationType)
export class NotificationResolver {
  @Mutation(() => NotificationType, {
    description: "Marks one of the caller's notifications read; NOT_FOUND for anyone else's",
  })
  async markNotificationRead(
    @Arg("id", () => ID) id: string,
    @Ctx() ctx: NotificationContext,
  ): Promise<Notification> {
    const caller = requireUser(ctx);
    // Someone else's notification answers NOT_FOUND, like a missing one: its existence is not the caller's to know.
    const notification = isUuid(id)
      ? await ctx.em.findOne(Notification, { id, userId: caller.userId })
      : null;
    if (!notification) throw notFound("Notification not found");
    notification.readAt ??= new Date();
    await ctx.em.flush();
    return notification;
  }

  @Mutation(() => Int, {
    description: "Marks every unread notification of the caller read; answers how many",
  })
  markAllNotificationsRead(@Ctx() ctx: NotificationContext): Promise<number> {
    const caller = requireUser(ctx);
    return ctx.em.nativeUpdate(Notification, { userId: caller.userId, readAt: null }, { readAt: new Date() });
  }
}

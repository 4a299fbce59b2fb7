import { allow, isAuthenticated, ownUserEntity, type RuleMap } from "../../platform/graphql/rules";

export const notificationPermissions: RuleMap = {
  Mutation: { markNotificationRead: isAuthenticated },
  User: { id: allow, notifications: ownUserEntity, unreadNotificationCount: ownUserEntity },
  Notification: allow,
  NotificationConnection: allow,
  NotificationEdge: allow,
  PageInfo: allow,
};

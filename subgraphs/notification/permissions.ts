import { allow, ownUserEntity, signedIn, type RuleMap } from "../../platform/graphql/rules";

export const notificationPermissions: RuleMap = {
  Mutation: { markNotificationRead: signedIn("notifications:write") },
  User: {
    id: allow,
    notifications: ownUserEntity("notifications:read"),
    unreadNotificationCount: ownUserEntity("notifications:read"),
  },
  Notification: allow,
  NotificationConnection: allow,
  NotificationEdge: allow,
  PageInfo: allow,
};

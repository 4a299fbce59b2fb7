import { allow, isAdmin, ownUserEntity, type RuleMap, signedIn } from "../../platform/graphql/rules";

export const notificationPermissions: RuleMap = {
  Mutation: {
    markNotificationRead: signedIn("notifications:write"),
    markAllNotificationsRead: signedIn("notifications:write"),
    updateNotificationPreferences: signedIn("notifications:write"),
    sendNotification: isAdmin,
  },
  User: {
    id: allow,
    notifications: ownUserEntity("notifications:read"),
    unreadNotificationCount: ownUserEntity("notifications:read"),
    notificationPreferences: ownUserEntity("notifications:read"),
  },
  Notification: allow,
  NotificationConnection: allow,
  NotificationEdge: allow,
  PageInfo: allow,
  NotificationPreferences: allow,
  ChannelPreference: allow,
};

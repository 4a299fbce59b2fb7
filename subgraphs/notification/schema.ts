import type { GraphQLSchema } from "graphql";

import { buildFederatedSchema } from "../../platform/graphql/federated-schema";
import { notificationPermissions } from "./permissions";
import { InboxResolver, NotificationResolver } from "./resolvers/notification.resolver";
import { PreferencesResolver } from "./resolvers/preferences.resolver";
import { SendNotificationResolver } from "./resolvers/send-notification.resolver";
import { resolveUserReference } from "./resolvers/user.reference";
import { User } from "./resolvers/user.type";

export function buildNotificationSchema(): GraphQLSchema {
  return buildFederatedSchema({
    resolvers: [InboxResolver, NotificationResolver, PreferencesResolver, SendNotificationResolver],
    orphanedTypes: [User],
    references: { User: resolveUserReference as never },
    permissions: notificationPermissions,
  });
}

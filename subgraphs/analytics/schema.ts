import type { GraphQLSchema } from "graphql";

import { buildFederatedSchema } from "../../platform/graphql/federated-schema";
import { analyticsPermissions } from "./permissions";
import { AnalyticsResolver } from "./resolvers/analytics.resolver";
import { InsightsResolver } from "./resolvers/insights.resolver";
import { resolveUserReference } from "./resolvers/user.reference";
import { User } from "./resolvers/user.type";

export function buildAnalyticsSchema(): GraphQLSchema {
  return buildFederatedSchema({
    resolvers: [AnalyticsResolver, InsightsResolver],
    orphanedTypes: [User],
    references: { User: resolveUserReference as never },
    permissions: analyticsPermissions,
  });
}

import type { GraphQLSchema } from "graphql";
import { buildFederatedSchema } from "../../platform/graphql/federated-schema";
import { authPermissions } from "./permissions";
import { AuthResolver } from "./resolvers/auth.resolver";
import { SessionResolver } from "./resolvers/session.resolver";
import { resolveUserReference } from "./resolvers/user.reference";
import { User } from "./resolvers/user.type";

export function buildAuthSchema(): GraphQLSchema {
  return buildFederatedSchema({
    resolvers: [AuthResolver, SessionResolver],
    orphanedTypes: [User],
    references: { User: resolveUserReference as never },
    permissions: authPermissions,
  });
}

import type { GraphQLSchema } from "graphql";

import { buildFederatedSchema } from "../../platform/graphql/federated-schema";
import { userPermissions } from "./permissions";
import { resolveUserReference } from "./resolvers/user.reference";
import { UserResolver } from "./resolvers/user.resolver";

export function buildUserSchema(): GraphQLSchema {
  return buildFederatedSchema({
    resolvers: [UserResolver],
    references: { User: resolveUserReference as never },
    permissions: userPermissions,
  });
}

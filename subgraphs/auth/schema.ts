import type { GraphQLSchema } from "graphql";

import { buildFederatedSchema } from "../../platform/graphql/federated-schema";
import { authPermissions } from "./permissions";
import { AccountResolver } from "./resolvers/account.resolver";
import { ApiKeyResolver } from "./resolvers/api-key.resolver";
import { AuditResolver } from "./resolvers/audit.resolver";
import { AuthResolver } from "./resolvers/auth.resolver";
import { ErasureResolver } from "./resolvers/erasure.resolver";
import { PasswordResolver } from "./resolvers/password.resolver";
import { SessionResolver } from "./resolvers/session.resolver";
import { resolveUserReference } from "./resolvers/user.reference";
import { User } from "./resolvers/user.type";

export function buildAuthSchema(): GraphQLSchema {
  return buildFederatedSchema({
    resolvers: [
      AuthResolver,
      SessionResolver,
      PasswordResolver,
      ApiKeyResolver,
      AccountResolver,
      AuditResolver,
      ErasureResolver,
    ],
    orphanedTypes: [User],
    references: { User: resolveUserReference as never },
    permissions: authPermissions,
  });
}

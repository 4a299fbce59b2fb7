import { allow, isAuthenticated, ownUserEntity, type RuleMap } from "../../platform/graphql/rules";

/** Every field this subgraph serves, with who may read it. Anything missing is denied. */
export const authPermissions: RuleMap = {
  Query: { mySessions: isAuthenticated },
  Mutation: { register: allow, login: allow },
  User: {
    id: allow,
    email: ownUserEntity,
    emailVerified: ownUserEntity,
    roles: ownUserEntity,
    createdAt: ownUserEntity,
  },
  AuthPayload: allow,
  Session: allow,
};

import {
  allow,
  isAdmin,
  isAuthenticated,
  isSelfOrAdmin,
  ownUserEntity,
  type RuleMap,
} from "../../platform/graphql/rules";

export const userPermissions: RuleMap = {
  Query: {
    me: allow,
    user: isSelfOrAdmin((_parent, args) => args.id),
    users: isAdmin,
  },
  Mutation: { updateProfile: isAuthenticated },
  User: { id: allow, profile: ownUserEntity, preferences: ownUserEntity },
  Profile: allow,
  Preferences: allow,
  UserConnection: allow,
  UserEdge: allow,
  PageInfo: allow,
};

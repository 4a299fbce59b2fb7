import {
  allow,
  isAdmin,
  isSelfOrAdmin,
  ownUserEntity,
  type RuleMap,
  signedIn,
} from "../../platform/graphql/rules";

export const userPermissions: RuleMap = {
  Query: {
    me: allow,
    user: isSelfOrAdmin("user:read", (_parent, args) => args.id),
    users: isAdmin,
  },
  Mutation: { updateProfile: signedIn("user:write"), updatePreferences: signedIn("user:write") },
  User: { id: allow, profile: ownUserEntity("user:read"), preferences: ownUserEntity("user:read") },
  Profile: allow,
  Preferences: allow,
  UserConnection: allow,
  UserEdge: allow,
  PageInfo: allow,
};

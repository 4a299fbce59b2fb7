import { allow, ownUserEntity, signedIn, type RuleMap } from "../../platform/graphql/rules";

export const analyticsPermissions: RuleMap = {
  Mutation: { trackEvent: signedIn("analytics:write") },
  User: { id: allow, activity: ownUserEntity("analytics:read") },
  UserActivity: allow,
};

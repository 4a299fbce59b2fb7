import { allow, isAuthenticated, ownUserEntity, type RuleMap } from "../../platform/graphql/rules";

export const analyticsPermissions: RuleMap = {
  Mutation: { trackEvent: isAuthenticated },
  User: { id: allow, activity: ownUserEntity },
  UserActivity: allow,
};

import { allow, isAdmin, ownUserEntity, type RuleMap, signedIn } from "../../platform/graphql/rules";

export const analyticsPermissions: RuleMap = {
  Query: { analyticsOverview: isAdmin, eventSeries: isAdmin, retentionCohorts: isAdmin },
  Mutation: { trackEvent: signedIn("analytics:write"), trackEvents: signedIn("analytics:write") },
  User: { id: allow, activity: ownUserEntity("analytics:read") },
  UserActivity: allow,
  // Reached only through the ADMIN query; its fields each run a query, so they check again (cached per request).
  AnalyticsOverview: isAdmin,
  TimeBucket: allow,
  EventCount: allow,
  RetentionCohort: allow,
};

import { and } from "graphql-shield";

import { allow, isAdmin, ownUserEntity, type RuleMap, withSession } from "../../platform/graphql/rules";

/**
 * Every field this subgraph serves, with who may use it. Anything missing is denied. Credential
 * management needs a session: an API key never manages sessions, keys, passwords or the account.
 */
export const authPermissions: RuleMap = {
  Query: { mySessions: withSession, myApiKeys: withSession, auditEvents: isAdmin, accountErasure: isAdmin },
  Mutation: {
    register: allow,
    login: allow,
    refreshSession: allow,
    requestPasswordReset: allow,
    resetPassword: allow,
    verifyEmail: allow,
    logout: withSession,
    logoutEverywhere: withSession,
    revokeSession: withSession,
    changePassword: withSession,
    requestEmailVerification: withSession,
    createApiKey: withSession,
    revokeApiKey: withSession,
    deleteMyAccount: withSession,
    // Granting roles is credential management: an ADMIN in a session, never an API key.
    setUserRoles: and(withSession, isAdmin),
  },
  User: {
    id: allow,
    email: ownUserEntity("user:read"),
    emailVerified: ownUserEntity("user:read"),
    roles: ownUserEntity("user:read"),
    createdAt: ownUserEntity("user:read"),
  },
  AuthPayload: allow,
  Session: allow,
  ApiKey: allow,
  CreatedApiKey: allow,
  AuditEvent: allow,
  AuditEventEdge: allow,
  AuditEventConnection: allow,
  PageInfo: allow,
  AccountErasure: allow,
  ErasureStep: allow,
};

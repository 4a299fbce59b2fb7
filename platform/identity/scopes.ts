/**
 * API key scopes of ../shared/API.graphql. A session is not limited by scopes (its roles decide);
 * an API key may do only what its scopes name, and never manage credentials.
 */
export const SCOPES = [
  "user:read",
  "user:write",
  "notifications:read",
  "notifications:write",
  "analytics:read",
  "analytics:write",
  "admin",
] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

/**
 * The `scope` claim of a session's access token: everything the roles allow (`admin` only for an
 * ADMIN). Informational for other verifiers; the router decides from roles, since a session may
 * also manage credentials, which no scope grants.
 */
export function sessionScopes(roles: readonly string[]): Scope[] {
  return SCOPES.filter((scope) => scope !== "admin" || roles.includes("ADMIN"));
}

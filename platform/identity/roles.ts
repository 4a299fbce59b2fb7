/** Roles of ../shared/API.graphql. Defined once: every subgraph's rule map and the auth subgraph use these. */
export enum Role {
  USER = "USER",
  ADMIN = "ADMIN",
}

export const ALL_ROLES: readonly Role[] = Object.values(Role);

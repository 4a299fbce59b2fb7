/**
 * The descriptions of the federated User and its key. Every subgraph declares its own User class,
 * and composition keeps one description per element (differing ones are a composition hint), so
 * they all take these.
 */
export const USER_DESCRIPTION =
  "A person with an account; the auth subgraph owns it, every subgraph adds fields";

export const USER_ID_DESCRIPTION = "Stable and opaque; the key every subgraph resolves a User by";

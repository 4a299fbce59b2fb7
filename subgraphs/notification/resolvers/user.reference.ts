import type { User } from "./user.type";

/** Nothing to read for the key itself; the inbox field resolvers batch their own reads. */
export function resolveUserReference(reference: { id: string }): User {
  return { id: reference.id };
}

import { userRef } from "./user.type";

/** Nothing to read for the key itself; field resolvers batch their own reads. */
export function resolveUserReference(reference: { id: string }) {
  return userRef(reference.id);
}

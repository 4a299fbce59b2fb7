import type { User } from "./user.type";

/** Nothing to read for the key itself; `activity` batches its own read. */
export function resolveUserReference(reference: { id: string }): User {
  return { id: reference.id };
}

import type { AuthContext } from "./context";

/** `_entities` for User: batched, so the router's N references cost one query. */
export function resolveUserReference(reference: { id: string }, ctx: AuthContext) {
  return ctx.loaders.users.load(reference.id);
}

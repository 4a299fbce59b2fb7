import { allow, rule } from "graphql-shield";
import type { IRules } from "graphql-shield";
import { forbidden, unauthenticated } from "../errors";
import { Role } from "../identity/roles";
import type { SubgraphContext } from "./context";

export type RuleMap = IRules;

/** Signed in (a user session). Anonymous callers learn they must sign in, not that they are forbidden. */
export const isAuthenticated = rule({ cache: "contextual" })((_parent, _args, ctx: SubgraphContext) =>
  ctx.identity.kind === "user" ? true : unauthenticated(),
);

export const isAdmin = rule({ cache: "contextual" })((_parent, _args, ctx: SubgraphContext) => {
  if (ctx.identity.kind !== "user") return unauthenticated();
  return ctx.identity.roles.includes(Role.ADMIN) ? true : forbidden();
});

/**
 * The caller is the user the data belongs to, or an ADMIN. `ownerOf` reads the owner's id from
 * the parent (an entity reached through `_entities`) or the arguments (`user(id:)`).
 */
export function isSelfOrAdmin(ownerOf: (parent: unknown, args: Record<string, unknown>) => unknown) {
  return rule({ cache: "strict" })((parent, args, ctx: SubgraphContext) => {
    if (ctx.identity.kind !== "user") return unauthenticated();
    if (ctx.identity.roles.includes(Role.ADMIN)) return true;
    return ownerOf(parent, args) === ctx.identity.userId ? true : forbidden();
  });
}

export const ownUserEntity = isSelfOrAdmin((parent) => (parent as { id?: unknown } | null)?.id);

/** What the router needs from every subgraph: `_entities` itself is open, the entity fields carry the rules. */
export const FEDERATION_RULES = {
  Query: { _service: allow, _entities: allow },
  _Service: allow,
} as const;

export { allow };

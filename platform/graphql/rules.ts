import type { GraphQLError } from "graphql";
import type { IRules } from "graphql-shield";
import { allow, rule } from "graphql-shield";

import { forbidden, unauthenticated } from "../errors";
import type { Identity, UserIdentity } from "../identity/identity";
import { Role } from "../identity/roles";
import type { Scope } from "../identity/scopes";
import type { SubgraphContext } from "./context";

/**
 * The permission vocabulary every subgraph's rule map is written in. Anything a map does not name
 * is denied (see federated-schema.ts). Anonymous callers learn they must sign in, not that they are
 * forbidden; an API key outside its scopes is FORBIDDEN.
 */
export type RuleMap = IRules;

type Check = true | GraphQLError;

function signedInWith(identity: Identity, scope: Scope | null): UserIdentity | GraphQLError {
  if (identity.kind !== "user") return unauthenticated();
  if (identity.scopes !== null && (scope === null || !identity.scopes.includes(scope)))
    return forbidden(scope ? `This API key lacks the ${scope} scope` : "Not available to API keys");
  return identity;
}

const memo = <T>(make: (scope: Scope) => T) => {
  const made = new Map<Scope, T>();
  return (scope: Scope) => {
    if (!made.has(scope)) made.set(scope, make(scope));
    return made.get(scope)!;
  };
};

/** Signed in through a session, or an API key holding `scope`. */
export const signedIn = memo((scope: Scope) =>
  rule(`signedIn:${scope}`, { cache: "contextual" })((_parent, _args, ctx: SubgraphContext): Check => {
    const who = signedInWith(ctx.identity, scope);
    return who instanceof Error ? who : true;
  }),
);

/** Managing credentials (sessions, keys, passwords, the account itself) needs a session: never an API key. */
export const withSession = rule("withSession", { cache: "contextual" })((
  _parent,
  _args,
  ctx: SubgraphContext,
): Check => {
  const who = signedInWith(ctx.identity, null);
  return who instanceof Error ? who : true;
});

/** ADMIN role; an API key also needs the `admin` scope. */
export const isAdmin = rule("isAdmin", { cache: "contextual" })((
  _parent,
  _args,
  ctx: SubgraphContext,
): Check => {
  const who = signedInWith(ctx.identity, "admin");
  if (who instanceof Error) return who;
  return who.roles.includes(Role.ADMIN) ? true : forbidden();
});

/**
 * The caller is the user the data belongs to (holding `scope` if an API key), or an ADMIN.
 * `ownerOf` reads the owner's id from the parent (an entity reached through `_entities`) or the
 * arguments (`user(id:)`).
 */
export function isSelfOrAdmin(
  scope: Scope,
  ownerOf: (parent: unknown, args: Record<string, unknown>) => unknown,
) {
  // Cached per request by the owner's id: the decision depends on nothing else (the caller is the
  // request's), so every field of an entity is decided once, without hashing the whole parent
  // ("strict" caching runs object-hash over it for each field: a measurable share of subgraph CPU).
  return rule({ cache: (parent, args) => JSON.stringify(ownerOf(parent, args) ?? null) })(
    (parent, args, ctx: SubgraphContext): Check => {
      const who = signedInWith(ctx.identity, scope);
      if (who instanceof Error) return who;
      if (ownerOf(parent, args) === who.userId) return true;
      const admin = who.roles.includes(Role.ADMIN) && (who.scopes === null || who.scopes.includes("admin"));
      return admin ? true : forbidden();
    },
  );
}

/** A field of the User entity: visible to that user and to ADMIN. */
export const ownUserEntity = memo((scope: Scope) =>
  isSelfOrAdmin(scope, (parent) => (parent as { id?: unknown } | null)?.id),
);

/** What the router needs from every subgraph: `_entities` itself is open, the entity fields carry the rules. */
export const FEDERATION_RULES = {
  Query: { _service: allow, _entities: allow },
  _Service: allow,
} as const;

export { allow };

import type { EntityManager } from "@mikro-orm/postgresql";

import { unauthenticated } from "../errors";
import type { EventDefinition, PayloadOf } from "../events/event-bus";
import type { ClientInfo, Identity, UserIdentity } from "../identity/identity";
import type { Logger } from "../logger";
import type { Deadline } from "../requests/deadline";

/** Per-request state every subgraph resolver receives. Built fresh for each request. */
export interface SubgraphContext<Loaders = unknown, Deps = unknown> {
  identity: Identity;
  /** A forked EntityManager: the request's own identity map and unit of work. */
  em: EntityManager;
  loaders: Loaders;
  deps: Deps;
  correlationId: string;
  logger: Logger;
  /**
   * Stages an event (carrying this request's correlation id) in the outbox of `em` (default: the
   * request's): it commits with that unit of work's next flush, or not at all, and the relay
   * publishes it after the commit.
   */
  emit<D extends EventDefinition>(definition: D, payload: PayloadOf<D>, em?: EntityManager): void;
  /** The caller's IP and user agent, from the router's signed assertion (null when not called through it). */
  request: ClientInfo;
  /**
   * When the router stops waiting for this answer (or its connection closed). A flush after it is
   * refused, so no effect commits that no client will be told of; expensive work checks it first.
   */
  deadline: Deadline;
}

/**
 * The signed-in caller, for resolvers behind `signedIn`/`withSession` rules. The rule map already
 * refused everyone else; this narrows the type and guards against a map that forgot the field.
 */
export function requireUser(ctx: Pick<SubgraphContext, "identity">): UserIdentity {
  if (ctx.identity.kind !== "user") throw unauthenticated();
  return ctx.identity;
}

/** The caller's session; API keys never get here (credential management is `withSession`). */
export function requireSession(ctx: Pick<SubgraphContext, "identity">): UserIdentity & { sessionId: string } {
  const user = requireUser(ctx);
  if (user.sessionId === null) throw unauthenticated();
  return { ...user, sessionId: user.sessionId };
}

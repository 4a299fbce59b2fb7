import type { EntityManager } from "@mikro-orm/postgresql";
import type { ClientInfo, Identity } from "../identity/identity";
import type { Logger } from "../logger";
import type { EventDefinition, PayloadOf } from "../events/event-bus";

/** Per-request state every subgraph resolver receives. Built fresh for each request. */
export interface SubgraphContext<Loaders = unknown, Deps = unknown> {
  identity: Identity;
  /** A forked EntityManager: the request's own identity map and unit of work. */
  em: EntityManager;
  loaders: Loaders;
  deps: Deps;
  correlationId: string;
  logger: Logger;
  /** Publishes an event carrying this request's correlation id. Call after the change committed. */
  publish<D extends EventDefinition>(definition: D, payload: PayloadOf<D>): Promise<void>;
  /** The caller's IP and user agent, from the router's signed assertion (null when not called through it). */
  request: ClientInfo;
}

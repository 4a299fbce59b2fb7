import type { MigrationObject } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Express, Request } from "express";
import type { GraphQLSchema } from "graphql";
import { importSPKI } from "jose";

import { type SubgraphName, subgraphPlatformVariables, type SubgraphSettings } from "./config";
import { type Database, openDatabase } from "./database/database";
import { registerPoolMetrics } from "./database/pool-metrics";
import { subgraphEntities, subgraphMigrations } from "./database/subgraph-schema";
import { type Consumer, inboxSubscription } from "./events/consumer";
import { type EventBus, type EventDefinition, type Unsubscribe } from "./events/event-bus";
import { createEventMetrics } from "./events/event-metrics";
import { OutboxRelay, type OutboxRelayOptions, stageEvent } from "./events/outbox";
import type { SubgraphContext } from "./graphql/context";
import { correlationIdFrom, REQUEST_ID_HEADER } from "./http/correlation";
import { type RunningService, startHttpService } from "./http/http-service";
import { AssertionVerifier } from "./identity/identity";
import { routerOnly, verifiedAssertion } from "./identity/router-only";
import type { Logger } from "./logger";
import { createMetrics } from "./metrics";
import { Deadline } from "./requests/deadline";
import { idempotencyHooks, idempotencyPlugin } from "./requests/idempotency";
import { currentRequest, openRequestScope, requestScopeOf } from "./requests/request-scope";
import type { KeyValueStore } from "./store/key-value-store";

/** What a subgraph is: its tables, migrations, schema, per-request loaders, dependencies and consumers. */
export interface SubgraphDefinition<
  Settings,
  Deps,
  Loaders,
  Name extends SubgraphName = SubgraphName,
  Overrides = never,
> {
  name: Name;
  /** Its own variables and how its settings are built from them (the subgraph's settings.ts). */
  settings: SubgraphSettings<Settings, Overrides>;
  entities: Function[];
  migrations: MigrationObject[];
  buildSchema(): GraphQLSchema;
  /** Long-lived collaborators built once at start (token issuer, mailer...). */
  createDependencies(runtime: SubgraphRuntime<Settings>, db: Database): Promise<Deps> | Deps;
  /** DataLoaders for one request: batching lives here, so N entity references cost one query. */
  createLoaders(em: EntityManager, deps: Deps): Loaders;
  /** Every event this subgraph publishes: the event catalogue is generated from these lists. */
  publishes: EventDefinition[];
  /** Queues this subgraph consumes; each handler runs in a transaction with its inbox record. */
  subscriptions?(services: ConsumerServices<Deps>): Consumer[];
  routes?(app: Express, deps: Deps): void;
  /** Releases what createDependencies opened (after consumers stopped, before the database closes). */
  dispose?(deps: Deps): Promise<void> | void;
}

/** What a subgraph is given to run: the same shape on embedded defaults and on real services. */
export interface SubgraphRuntime<Settings> {
  databaseUrl: string;
  bus: EventBus;
  store: KeyValueStore;
  identityPublicKey: string;
  port: number;
  host: string;
  production: boolean;
  logger: Logger;
  settings: Settings;
  /** Outbox relay tuning (tests shorten the poll and backoff). */
  outbox?: Pick<OutboxRelayOptions, "pollIntervalMs" | "maxBackoffMs" | "batchSize">;
}

export interface ConsumerServices<Deps> {
  db: Database;
  deps: Deps;
  bus: EventBus;
  logger: Logger;
}

export interface RunningSubgraph extends RunningService {
  db: Database;
  /** Publishes this subgraph's committed outbox rows. */
  relay: OutboxRelay;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySubgraphDefinition = SubgraphDefinition<any, any, any, any, any>;

export async function startSubgraph<Settings, Deps, Loaders, Name extends SubgraphName, Overrides>(
  definition: SubgraphDefinition<Settings, Deps, Loaders, Name, Overrides>,
  runtime: SubgraphRuntime<Settings>,
): Promise<RunningSubgraph> {
  const logger = runtime.logger;
  const assertions = new AssertionVerifier(await importSPKI(runtime.identityPublicKey, "EdDSA"));
  const db = await openDatabase({
    url: runtime.databaseUrl,
    entities: subgraphEntities(definition),
    migrations: subgraphMigrations(definition),
    logger,
    contextName: definition.name,
  });
  const metrics = createMetrics(definition.name);
  const eventMetrics = createEventMetrics(metrics.registry, {
    db,
    knownTypes: definition.publishes.map((event) => event.type),
  });
  registerPoolMetrics(metrics.registry, db);
  const unsubscribes: Unsubscribe[] = [];
  // Stopping consumers first lets a handler in flight finish before its database closes.
  const stopConsuming = () => Promise.all(unsubscribes.splice(0).map((unsubscribe) => unsubscribe()));
  const relay = new OutboxRelay({
    db,
    databaseUrl: runtime.databaseUrl,
    bus: runtime.bus,
    logger: logger.child({ component: "outbox" }),
    metrics: eventMetrics,
    ...runtime.outbox,
  });
  let deps: Deps | undefined;
  try {
    await relay.start();
    deps = await definition.createDependencies(runtime, db);
    const ready = deps;
    for (const spec of definition.subscriptions?.({ db, deps: ready, bus: runtime.bus, logger }) ?? []) {
      eventMetrics.prime(spec.queue, spec.eventTypes);
      const subscription = inboxSubscription(spec, {
        db,
        producer: definition.name,
        logger,
        metrics: eventMetrics,
      });
      unsubscribes.push(await runtime.bus.subscribe(subscription));
    }

    // A request's unit of work may not commit once its caller has stopped waiting, and a keyed
    // mutation's record commits with its effect (decision 006).
    const ownRequest = () => {
      const scope = currentRequest();
      return scope?.subgraph === definition.name ? scope : undefined;
    };
    db.orm.em.getEventManager().registerSubscriber(idempotencyHooks(ownRequest));
    db.orm.em.getEventManager().registerSubscriber({
      beforeFlush: () => ownRequest()?.deadline.throwIfExpired(),
      // Checked again at the last moment: a flush that waited for a connection or a lock may reach
      // its COMMIT after the router stopped waiting; it rolls back instead.
      beforeTransactionCommit: () => ownRequest()?.deadline.throwIfExpired(),
    });

    const context = async (req: Request): Promise<SubgraphContext<Loaders, Deps>> => {
      const correlationId = correlationIdFrom(req.headers[REQUEST_ID_HEADER]);
      const assertion = verifiedAssertion(req);
      const em = db.orm.em.fork();
      return {
        deadline: requestScopeOf(req)?.deadline ?? Deadline.fromHeaders(undefined, undefined),
        identity: assertion.identity,
        em,
        loaders: definition.createLoaders(em, ready),
        deps: ready,
        correlationId,
        logger: logger.child({ correlationId }),
        request: assertion.client,
        emit: (event, payload, into) => {
          stageEvent(into ?? em, event, payload, { producer: definition.name, correlationId });
        },
      };
    };

    const service = await startHttpService({
      name: definition.name,
      port: runtime.port,
      host: runtime.host,
      production: runtime.production,
      logger,
      metrics,
      graphql: { schema: definition.buildSchema() },
      // Nothing but the router is answered: refused before the body is even read (decision 001).
      graphqlMiddleware: [routerOnly(assertions, logger)],
      bodyMiddleware: [openRequestScope(definition.name)],
      plugins: [idempotencyPlugin({ db, subgraph: definition.name, logger })],
      context,
      readiness: async () => ({
        database: await db.ping(),
        store: await runtime.store.ping(),
        bus: runtime.bus.isHealthy(),
      }),
      routes: definition.routes ? (app) => definition.routes!(app, ready) : undefined,
    });
    return {
      ...service,
      db,
      relay,
      stop: async () => {
        await service.stop();
        await stopConsuming();
        // Events staged by the last requests and handlers leave before the database closes.
        await relay.stop();
        await definition.dispose?.(ready);
        await db.close();
      },
    };
  } catch (error) {
    await stopConsuming();
    await relay.stop();
    // Timers the dependencies started (dispatcher, retention sweep) must not outlive the database.
    if (deps) await definition.dispose?.(deps);
    await db.close();
    throw error;
  }
}

/** Every variable a subgraph reads running alone, parsed at once so one error lists every problem. */
export function subgraphVariables(
  definition: Pick<SubgraphDefinition<unknown, unknown, unknown, SubgraphName, unknown>, "name" | "settings">,
): string[] {
  const names = [
    ...subgraphPlatformVariables(definition.name),
    ...definition.settings.platformVariables,
    ...Object.keys(definition.settings.variables),
  ];
  return [...new Set(names)];
}

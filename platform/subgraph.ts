import type { MigrationObject } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { importSPKI } from "jose";
import type { GraphQLSchema } from "graphql";
import type { Express, Request } from "express";
import type { ServiceEnv, SubgraphName } from "./config";
import { openDatabase, type Database } from "./database/database";
import { requestError } from "./errors";
import {
  createEnvelope,
  type EventBus,
  type EventDefinition,
  type Subscription,
  type Unsubscribe,
} from "./events/event-bus";
import type { SubgraphContext } from "./graphql/context";
import { correlationIdFrom, REQUEST_ID_HEADER } from "./http/correlation";
import { startHttpService, type RunningService } from "./http/http-service";
import {
  IDENTITY_HEADER,
  InvalidIdentityAssertion,
  verifyIdentityAssertion,
  type Assertion,
} from "./identity/identity";
import type { Logger } from "./logger";
import { createMetrics } from "./metrics";
import type { KeyValueStore } from "./store/key-value-store";

/** What a subgraph is: its tables, migrations, schema, per-request loaders, dependencies and consumers. */
export interface SubgraphDefinition<Settings, Deps, Loaders, Name extends SubgraphName = SubgraphName> {
  name: Name;
  /** This subgraph's own settings, picked from its validated environment (no I/O). */
  settingsFromEnv(env: ServiceEnv<Name>): Settings;
  entities: Function[];
  migrations: MigrationObject[];
  buildSchema(): GraphQLSchema;
  /** Long-lived collaborators built once at start (token issuer, mailer...). */
  createDependencies(runtime: SubgraphRuntime<Settings>, db: Database): Promise<Deps> | Deps;
  /** DataLoaders for one request: batching lives here, so N entity references cost one query. */
  createLoaders(em: EntityManager, deps: Deps): Loaders;
  /** Every event this subgraph publishes: the event catalogue is generated from these lists. */
  publishes: EventDefinition[];
  /** Queues this subgraph consumes. */
  subscriptions?(services: ConsumerServices<Deps>): Subscription[];
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
}

export interface ConsumerServices<Deps> {
  db: Database;
  deps: Deps;
  bus: EventBus;
  logger: Logger;
}

export interface RunningSubgraph extends RunningService {
  db: Database;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySubgraphDefinition = SubgraphDefinition<any, any, any, any>;

export async function startSubgraph<Settings, Deps, Loaders, Name extends SubgraphName>(
  definition: SubgraphDefinition<Settings, Deps, Loaders, Name>,
  runtime: SubgraphRuntime<Settings>,
): Promise<RunningSubgraph> {
  const logger = runtime.logger;
  const identityKey = await importSPKI(runtime.identityPublicKey, "EdDSA");
  const db = await openDatabase({
    url: runtime.databaseUrl,
    entities: definition.entities,
    migrations: definition.migrations,
    logger,
  });
  const unsubscribes: Unsubscribe[] = [];
  // Stopping consumers first lets a handler in flight finish before its database closes.
  const stopConsuming = () => Promise.all(unsubscribes.splice(0).map((unsubscribe) => unsubscribe()));
  try {
    const deps = await definition.createDependencies(runtime, db);
    for (const subscription of definition.subscriptions?.({ db, deps, bus: runtime.bus, logger }) ?? []) {
      unsubscribes.push(await runtime.bus.subscribe(subscription));
    }

    const context = async (req: Request): Promise<SubgraphContext<Loaders, Deps>> => {
      const correlationId = correlationIdFrom(req.headers[REQUEST_ID_HEADER]);
      let assertion: Assertion;
      try {
        assertion = await verifyIdentityAssertion(req.header(IDENTITY_HEADER), identityKey);
      } catch (error) {
        if (!(error instanceof InvalidIdentityAssertion)) throw error;
        logger.warn({ correlationId, reason: error.message }, "rejected identity assertion");
        throw requestError("UNAUTHENTICATED", "Invalid identity assertion");
      }
      const em = db.orm.em.fork();
      return {
        identity: assertion.identity,
        em,
        loaders: definition.createLoaders(em, deps),
        deps,
        correlationId,
        logger: logger.child({ correlationId }),
        request: assertion.client,
        publish: (event, payload) =>
          runtime.bus.publish(createEnvelope(event, payload, { producer: definition.name, correlationId })),
      };
    };

    const service = await startHttpService({
      name: definition.name,
      port: runtime.port,
      host: runtime.host,
      production: runtime.production,
      logger,
      metrics: createMetrics(definition.name),
      graphql: { schema: definition.buildSchema() },
      context,
      readiness: async () => ({
        database: await db.ping(),
        store: await runtime.store.ping(),
        bus: runtime.bus.isHealthy(),
      }),
      routes: definition.routes ? (app) => definition.routes!(app, deps) : undefined,
    });
    return {
      ...service,
      db,
      stop: async () => {
        await service.stop();
        await stopConsuming();
        await definition.dispose?.(deps);
        await db.close();
      },
    };
  } catch (error) {
    await stopConsuming();
    await db.close();
    throw error;
  }
}

import "reflect-metadata";

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

import { ApolloGateway, type GraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import { ApolloServer, type BaseContext } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { type DocumentNode, execute, type GraphQLError, type GraphQLSchema, parse, validate } from "graphql";

import { DATABASE_VARIABLES, SUBGRAPH_NAMES, type SubgraphName } from "../../../platform/config";
import { type Database, openDatabase } from "../../../platform/database/database";
import { subgraphEntities, subgraphMigrations } from "../../../platform/database/subgraph-schema";
import { InProcessEventBus } from "../../../platform/events/in-process-bus";
import { stageEvent } from "../../../platform/events/outbox";
import type { SubgraphContext } from "../../../platform/graphql/context";
import type { ClientInfo, Identity } from "../../../platform/identity/identity";
import { createLogger, type Logger } from "../../../platform/logger";
import { SUPERGRAPH_PATH } from "../../../platform/paths";
import { Deadline, DEFAULT_REQUEST_BUDGET_MS } from "../../../platform/requests/deadline";
import { RedisKeyValueStore } from "../../../platform/store/redis-store";
import type { AnySubgraphDefinition } from "../../../platform/subgraph";
import { parseServiceEnv, SUBGRAPHS } from "../../../subgraphs";
import { callerFromRequest } from "./identity";

/**
 * Target (d), the practical limit: the same four subgraphs' resolvers, schemas (graphql-shield
 * included), DataLoaders and databases in ONE process, with no HTTP hop between planner and
 * resolvers. @apollo/gateway still plans the query (that is how one federated document reaches
 * four schemas), but each subgraph fetch is an in-process `execute` on that subgraph's schema
 * with a context built exactly as platform/subgraph.ts builds it per HTTP request (forked
 * EntityManager, the request's loaders, the subgraph's dependencies, outbox staging). Documents
 * are parsed and validated once and cached, as Apollo Server's document store does for the
 * subgraphs. Nothing is signed or verified (there is no hop to protect); who calls comes from
 * the bearer token's claims (identity.ts). Consumers and outbox relays are not started here: the
 * standalone subgraphs of the same run relay and consume whatever this process commits.
 */

interface Context extends BaseContext {
  identity: Identity;
  client: ClientInfo;
  correlationId: string;
}

interface Part {
  definition: AnySubgraphDefinition;
  db: Database;
  deps: unknown;
  schema: GraphQLSchema;
  logger: Logger;
}

class InProcessSubgraph implements GraphQLDataSource<Context> {
  private readonly documents = new Map<string, DocumentNode>();

  constructor(private readonly part: Part) {}

  async process(options: GraphQLDataSourceProcessOptions<Context>) {
    const { request } = options;
    const { definition, db, deps, schema, logger } = this.part;
    const query = request.query ?? "";
    let document = this.documents.get(query);
    if (!document) {
      document = parse(query);
      const errors: readonly GraphQLError[] = validate(schema, document);
      if (errors.length > 0) return { errors };
      if (this.documents.size > 1000) this.documents.clear();
      this.documents.set(query, document);
    }
    const caller = options.context as Partial<Context>;
    const correlationId = caller.correlationId ?? randomUUID();
    const em = db.orm.em.fork();
    const contextValue: SubgraphContext = {
      identity: caller.identity ?? { kind: "anonymous" },
      em,
      loaders: definition.createLoaders(em, deps),
      deps,
      correlationId,
      logger: logger.child({ correlationId }),
      request: caller.client ?? { ip: null, userAgent: null },
      deadline: Deadline.after(DEFAULT_REQUEST_BUDGET_MS),
      emit: (event, payload, into) => {
        stageEvent(into ?? em, event, payload, { producer: definition.name, correlationId });
      },
    };
    return execute({
      schema,
      document,
      variableValues: request.variables,
      operationName: request.operationName,
      contextValue,
    });
  }
}

async function main(): Promise<void> {
  const port = Number(process.env.BENCH_PORT);
  if (!port) throw new Error("BENCH_PORT must be set");
  const common = parseServiceEnv("auth");
  const store = await RedisKeyValueStore.connect({
    url: common.REDIS_URL,
    prefix: common.REDIS_KEY_PREFIX,
    logger: createLogger("monolith", common.LOG_LEVEL),
  });
  // Nothing is published from here (no relay runs in this process); the dependencies only need a bus to exist.
  const bus = new InProcessEventBus();
  const parts = {} as Record<SubgraphName, Part>;
  for (const name of SUBGRAPH_NAMES) {
    const definition = SUBGRAPHS[name];
    const env = parseServiceEnv(name) as Record<string, unknown>;
    const logger = createLogger(name, common.LOG_LEVEL);
    const databaseUrl = env[DATABASE_VARIABLES[name]] as string;
    const db = await openDatabase({
      url: databaseUrl,
      entities: subgraphEntities(definition),
      migrations: subgraphMigrations(definition),
      logger,
      contextName: name,
    });
    const deps: unknown = await definition.createDependencies(
      {
        databaseUrl,
        bus,
        store,
        identityPublicKey: common.IDENTITY_PUBLIC_KEY,
        port: 0,
        host: "127.0.0.1",
        production: true,
        logger,
        settings: definition.settings.fromEnv(env),
      },
      db,
    );
    parts[name] = { definition, db, deps, schema: definition.buildSchema(), logger };
  }

  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(SUPERGRAPH_PATH, "utf8"),
    buildService: ({ name }) => new InProcessSubgraph(parts[name as SubgraphName]),
  });
  const server = new ApolloServer<Context>({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port, host: "127.0.0.1" },
    context: async ({ req }) => ({
      ...callerFromRequest(req),
      correlationId: randomUUID(),
    }),
  });
  console.log(`monolith listening at ${url}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

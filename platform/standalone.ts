import {
  catalogueOf,
  DATABASE_VARIABLES,
  parseVariables,
  PORT_VARIABLES,
  type SubgraphName,
  type SubgraphPlatformEnv,
} from "./config";
import { RabbitMqEventBus } from "./events/rabbitmq-bus";
import { onShutdown } from "./lifecycle";
import { createLogger } from "./logger";
import { RedisKeyValueStore } from "./store/redis-store";
import { startSubgraph, type SubgraphDefinition, subgraphVariables } from "./subgraph";

/** One subgraph alone, as a container runs it: real PostgreSQL, Redis and RabbitMQ from the environment. */
export async function runSubgraphFromEnv<S, D, L, N extends SubgraphName, O>(
  definition: SubgraphDefinition<S, D, L, N, O>,
): Promise<void> {
  const env = parseVariables(
    catalogueOf(definition.settings),
    subgraphVariables(definition),
  ) as SubgraphPlatformEnv & Record<string, unknown>;
  const logger = createLogger(definition.name, env.LOG_LEVEL);
  const bus = await RabbitMqEventBus.connect({ url: env.AMQP_URL, exchange: env.AMQP_EXCHANGE, logger });
  const store = await RedisKeyValueStore.connect({
    url: env.REDIS_URL,
    prefix: env.REDIS_KEY_PREFIX,
    logger,
  });
  const service = await startSubgraph(definition, {
    databaseUrl: env[DATABASE_VARIABLES[definition.name]] as string,
    bus,
    store,
    identityPublicKey: env.IDENTITY_PUBLIC_KEY,
    port: env[PORT_VARIABLES[definition.name]] as number,
    host: env.HOST,
    production: env.NODE_ENV === "production",
    logger,
    settings: definition.settings.fromEnv(env),
  });
  onShutdown(logger, async () => {
    await service.stop();
    await bus.close();
    await store.close();
  });
}

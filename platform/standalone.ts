import {
  DATABASE_VARIABLES,
  parseServiceEnv,
  PORT_VARIABLES,
  type ServiceEnv,
  type SubgraphName,
} from "./config";
import { RabbitMqEventBus } from "./events/rabbitmq-bus";
import { createLogger, flushLogs, type Logger } from "./logger";
import { RedisKeyValueStore } from "./store/redis-store";
import { startSubgraph, type SubgraphDefinition } from "./subgraph";
import { stopTracing } from "./tracing";

/** One subgraph alone, as a container runs it: real PostgreSQL, Redis and RabbitMQ from the environment. */
export async function runSubgraphFromEnv<S, D, L, N extends SubgraphName>(
  definition: SubgraphDefinition<S, D, L, N>,
): Promise<void> {
  const env = parseServiceEnv(definition.name) as ServiceEnv<SubgraphName> & Record<string, unknown>;
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
    settings: definition.settingsFromEnv(env as ServiceEnv<N>),
  });
  onShutdown(logger, async () => {
    await service.stop();
    await bus.close();
    await store.close();
  });
}

/** SIGTERM/SIGINT: stop accepting, finish what is in flight, close connections, exit. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    stop()
      // Spans still buffered leave before the process does.
      .then(() => stopTracing().catch(() => undefined))
      .then(() => {
        flushLogs();
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        void stopTracing()
          .catch(() => undefined)
          .then(() => {
            flushLogs();
            process.exit(1);
          });
      });
  };
  process.once("SIGTERM", handler);
  process.once("SIGINT", handler);
}

/** Entry-point wrapper: a configuration error prints its list and exits 1, without a stack trace. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof Error && error.name === "ConfigError") console.error(error.message);
    else console.error(error);
    flushLogs();
    process.exit(1);
  });
}

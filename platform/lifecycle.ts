import { flushLogs, type Logger } from "./logger";
import { stopTracing } from "./tracing";

/*
 * How every ORION process starts and stops, kept apart from what a subgraph needs
 * (standalone.ts): the router's process must not load the ORM, the migrations or the broker client.
 */

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

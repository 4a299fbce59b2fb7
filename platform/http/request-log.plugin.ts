import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { Logger } from "../logger";
import type { ServiceMetrics } from "../metrics";

interface ObservedContext extends BaseContext {
  correlationId?: string;
  identity?: { kind: string; userId?: string };
}

/** One log line and one histogram sample per operation: name, duration, outcome, caller. Never the document. */
export function requestLogPlugin(
  logger: Logger,
  metrics: ServiceMetrics,
): ApolloServerPlugin<ObservedContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ request, response, contextValue, operationName, errors }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const failed =
            (errors?.length ?? 0) > 0 ||
            (response.body.kind === "single" && (response.body.singleResult.errors?.length ?? 0) > 0);
          const operation = operationName ?? request.operationName ?? "anonymous";
          metrics.observeOperation(operationName ?? request.operationName, failed ? "error" : "ok", seconds);
          logger.info(
            {
              operation,
              durationMs: Math.round(seconds * 1000),
              outcome: failed ? "error" : "ok",
              userId: contextValue.identity?.userId,
              correlationId: contextValue.correlationId,
            },
            "graphql request",
          );
        },
      };
    },
  };
}

import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { Logger } from "../logger";
import type { ServiceMetrics } from "../metrics";

interface ObservedContext extends BaseContext {
  correlationId?: string;
  identity?: { kind: string; userId?: string };
}

/** The operation label of requests refused before anything ran. */
const REFUSED = "(refused)";

/** One log line and one histogram sample per operation: name, duration, outcome, caller. Never the document. */
export function requestLogPlugin(
  logger: Logger,
  metrics: ServiceMetrics,
): ApolloServerPlugin<ObservedContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({
          request,
          response,
          contextValue,
          operation: resolved,
          operationName,
          errors,
        }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const failed =
            (errors?.length ?? 0) > 0 ||
            (response.body.kind === "single" && (response.body.singleResult.errors?.length ?? 0) > 0);
          const operation = operationName ?? request.operationName ?? "anonymous";
          // The label is the name of an operation that ran: a name only sent, or refused before it ran
          // (unparsable, invalid, unauthenticated, rate-limited), must not take one of the bounded slots.
          const ran =
            resolved !== undefined && response.body.kind === "single" && "data" in response.body.singleResult;
          metrics.observeOperation(ran ? (operationName ?? null) : REFUSED, failed ? "error" : "ok", seconds);
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

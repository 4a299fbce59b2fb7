import type { ApolloServerPlugin, BaseContext } from "@apollo/server";

import { CLIENT_ERROR_CODES } from "../errors";
import type { Logger } from "../logger";
import { type Outcome, REFUSED_OPERATION, type ServiceMetrics } from "../metrics";

interface ObservedContext extends BaseContext {
  correlationId?: string;
  identity?: { kind: string; userId?: string };
}

/**
 * The caller's mistakes and the platform's refusals (bad input, credentials, limits) are
 * "rejected"; anything else is an "error" of ours: what an error-rate alert should watch.
 */
export function outcomeOf(errors: readonly { extensions?: Record<string, unknown> }[]): Outcome {
  if (errors.length === 0) return "ok";
  return errors.every((error) => CLIENT_ERROR_CODES.has(String(error.extensions?.code)))
    ? "rejected"
    : "error";
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
        async willSendResponse({
          request,
          response,
          contextValue,
          operation: resolved,
          operationName,
          errors,
        }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const outcome = outcomeOf([
            ...(errors ?? []),
            ...(response.body.kind === "single" ? (response.body.singleResult.errors ?? []) : []),
          ]);
          const operation = operationName ?? request.operationName ?? "anonymous";
          // The label is the name of an operation that ran: a name only sent, or refused before it ran
          // (unparsable, invalid, unauthenticated, rate-limited), must not take one of the bounded slots.
          const ran =
            resolved !== undefined && response.body.kind === "single" && "data" in response.body.singleResult;
          metrics.observeOperation(ran ? (operationName ?? null) : REFUSED_OPERATION, outcome, seconds);
          logger.info(
            {
              operation,
              durationMs: Math.round(seconds * 1000),
              outcome,
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

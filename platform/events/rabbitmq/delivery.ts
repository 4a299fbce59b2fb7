import { randomUUID } from "node:crypto";

import type { ConfirmChannel, Message } from "amqplib";

import type { Logger } from "../../logger";
import { decodeBody, envelopeOrNull, failureReason, HEADERS, unboundTypeError } from "../dead-letters";
import { type EventEnvelope, EventUnroutable, isRetryable, type Subscription } from "../event-bus";
import { carriedHeaders, carriedProperties, failedAttempts } from "./messages";
import { routed } from "./publishing";
import { deadLetterExchange, deadLetterQueueName, retryQueueName } from "./topology";

/** One subscription of the bus, kept across reconnects. */
export interface ActiveConsumer {
  subscription: Subscription;
  /** The broker-side queue name. */
  name: string;
  delays: number[];
  /** The channel consuming now; null while disconnected. */
  channel: ConfirmChannel | null;
  consumerTag: string | null;
  /** Deliveries, handled one after another across reconnects: a handler never races itself. */
  chain: Promise<void>;
  stopped: boolean;
}

export interface DeliveryContext {
  exchange: string;
  logger: Logger;
  /** Called when a retry or dead-letter queue is missing: reconnecting declares it again. */
  recover(reason: string): void;
}

/**
 * Runs the handler on one delivery, then settles it: acked on success; on failure first moved to
 * its next retry queue (a retryable failure with a retry left) or to the dead-letter queue, and
 * acked only once that publish is confirmed.
 */
export async function deliver(
  context: DeliveryContext,
  consumer: ActiveConsumer,
  channel: ConfirmChannel,
  message: Message,
): Promise<void> {
  // From a channel that is gone (a reconnection happened) or after unsubscribing: the broker
  // delivers it again, to the next consumer.
  if (consumer.stopped || consumer.channel !== channel) return;
  const { logger } = context;
  const { queue } = consumer.subscription;
  const attempt = failedAttempts(message) + 1;
  const body = message.content.toString("utf8");
  let failure: { error: unknown } | null = null;
  let event: EventEnvelope | null = null;
  try {
    event = decodeBody(body);
    if (!consumer.subscription.eventTypes.includes(event.type)) throw unboundTypeError(queue, event.type);
    await consumer.subscription.handler(event, { queue, attempt });
  } catch (error) {
    failure = { error };
  }
  // A message published without a type property (not by this bus) keeps its routing key as its
  // type: after a retry or in the dead-letter queue, the routing key is a queue name.
  const properties = carriedProperties(message);
  if (properties.type === undefined && message.fields.exchange === context.exchange)
    properties.type = message.fields.routingKey;
  const log = {
    queue,
    eventId: message.properties.messageId as string | undefined,
    type: event?.type ?? properties.type,
    attempt,
  };
  try {
    if (failure) {
      const reason = failureReason(failure.error);
      const delay = consumer.delays[attempt - 1];
      if (isRetryable(failure.error) && delay !== undefined) {
        logger.warn({ ...log, err: failure.error, retryInMs: delay }, "event handler failed; retrying later");
        consumer.subscription.onFailure?.("retried", event?.type ?? null);
        await routed(channel, "", retryQueueName(consumer.name, attempt), message.content, {
          ...properties,
          expiration: String(delay),
          headers: { ...carriedHeaders(message), [HEADERS.attempts]: attempt, [HEADERS.reason]: reason },
        });
      } else {
        logger.error({ ...log, err: failure.error }, "event dead-lettered");
        consumer.subscription.onFailure?.("dead_lettered", event?.type ?? null);
        await routed(
          channel,
          deadLetterExchange(context.exchange),
          deadLetterQueueName(consumer.name),
          message.content,
          {
            ...properties,
            messageId:
              (message.properties.messageId as string | undefined) ??
              envelopeOrNull(body)?.id ??
              randomUUID(),
            headers: {
              ...carriedHeaders(message),
              [HEADERS.attempts]: attempt,
              [HEADERS.reason]: reason,
              [HEADERS.deadAt]: new Date().toISOString(),
              [HEADERS.queue]: queue,
            },
          },
        );
      }
    }
    // Only once the retry or dead letter is confirmed: a crash in between redelivers, never loses.
    channel.ack(message);
  } catch (error) {
    // Unsettled, the message goes back to the queue when the channel closes (shutdown, a lost
    // connection); a missing retry or dead-letter queue is declared again by reconnecting.
    logger.warn({ ...log, err: error }, "could not settle message; the broker will deliver it again");
    if (error instanceof EventUnroutable && consumer.channel === channel) context.recover(error.message);
  }
}

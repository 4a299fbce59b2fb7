import type { ConfirmChannel, Message, Options } from "amqplib";

import { type EventEnvelope, EventUnroutable } from "../event-bus";

/** Publishing with publisher confirms: a publish resolves only once the broker has the message. */

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Publishes and resolves once the broker confirmed it. */
function confirmed(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      channel.publish(exchange, routingKey, content, options, (error: unknown) =>
        error ? reject(toError(error)) : resolve(),
      );
    } catch (error) {
      reject(toError(error)); // the channel is closed
    }
  });
}

/**
 * Publishes to a queue that must exist: rejects with EventUnroutable (its queue is missing) when
 * the broker returns the mandatory message.
 */
export async function routed(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  let returned = false;
  // The broker sends the return before the confirm of the same message.
  const onReturn = (message: Message) => {
    if (message.fields.routingKey === routingKey && message.properties.messageId === options.messageId)
      returned = true;
  };
  channel.on("return", onReturn);
  try {
    await confirmed(channel, exchange, routingKey, content, { ...options, mandatory: true });
  } finally {
    channel.off("return", onReturn);
  }
  if (returned) throw new EventUnroutable(`no queue took the message routed to ${routingKey}`);
}

/**
 * Publishes an event to the topic exchange under its type. Mandatory: an event no queue is bound
 * for (its consumers have not declared their queues yet) is returned and fails here, so the outbox
 * keeps it instead of the broker dropping it.
 */
export function publishEvent(channel: ConfirmChannel, exchange: string, event: EventEnvelope): Promise<void> {
  return routed(channel, exchange, event.type, Buffer.from(JSON.stringify(event)), {
    persistent: true,
    contentType: "application/json",
    messageId: event.id,
    type: event.type,
    correlationId: event.correlationId,
    timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
    appId: event.producer,
    // The W3C trace context travels in the AMQP headers too, for tools that read only those.
    ...(event.traceparent ? { headers: { traceparent: event.traceparent } } : {}),
  });
}

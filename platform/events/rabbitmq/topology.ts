import type { Channel } from "amqplib";

import { UnknownQueue } from "../event-bus";

/**
 * What the RabbitMQ bus declares on the broker: one durable topic exchange keyed by event type, a
 * direct dead-letter exchange beside it, and per subscription a durable queue, its dead-letter
 * queue `<queue>.dead` and a retry queue `<queue>.retry.<n>` per retry (messages wait there for
 * their delay, then the broker dead-letters them back to the queue through the default exchange).
 */

export const deadLetterExchange = (exchange: string) => `${exchange}.dead-letter`;
export const deadLetterQueueName = (queue: string) => `${queue}.dead`;
export const retryQueueName = (queue: string, attempt: number) => `${queue}.retry.${attempt}`;

/** The exchanges; `passive` only checks that the topic exchange exists and never creates anything. */
export async function declareExchanges(channel: Channel, exchange: string, passive: boolean): Promise<void> {
  if (passive) {
    await channel.checkExchange(exchange).catch((error: unknown) => {
      throw (error as { code?: number }).code === 404
        ? new UnknownQueue(`no exchange ${exchange} on this broker`)
        : error;
    });
    return;
  }
  await channel.assertExchange(exchange, "topic", { durable: true });
  await channel.assertExchange(deadLetterExchange(exchange), "direct", { durable: true });
}

/** One subscription's queue as the broker names it, with its retry delays and the types bound to it. */
export interface QueueTopology {
  exchange: string;
  name: string;
  delays: readonly number[];
  eventTypes: readonly string[];
}

/** The queue, its dead-letter queue, its retry queues and bindings. */
export async function declareQueue(
  channel: Channel,
  { exchange, name, delays, eventTypes }: QueueTopology,
): Promise<void> {
  const deadLetters = deadLetterQueueName(name);
  await channel.assertQueue(deadLetters, { durable: true });
  await channel.bindQueue(deadLetters, deadLetterExchange(exchange), deadLetters);
  // Arguments unchanged since the first version: a durable queue cannot be re-declared with others.
  await channel.assertQueue(name, {
    durable: true,
    arguments: {
      "x-dead-letter-exchange": deadLetterExchange(exchange),
      "x-dead-letter-routing-key": deadLetters,
    },
  });
  // The delay is each message's expiration, not a queue argument: changing a subscription's
  // delays then needs no queue to be deleted. Each retry queue holds one step, so every message in
  // it has the same delay and the one at the head always expires first.
  for (let n = 1; n <= delays.length; n++) {
    await channel.assertQueue(retryQueueName(name, n), {
      durable: true,
      arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": name },
    });
  }
  for (const type of eventTypes) {
    await channel.bindQueue(name, exchange, type);
  }
}

/** Ready messages in a broker queue; UnknownQueue (naming the subscription queue) when it does not exist. */
export async function countReady(
  channel: Channel,
  exchange: string,
  brokerQueue: string,
  queue: string,
): Promise<number> {
  try {
    return (await channel.checkQueue(brokerQueue)).messageCount;
  } catch (error) {
    if ((error as { code?: number }).code === 404)
      throw new UnknownQueue(`no queue ${queue} on exchange ${exchange} (${brokerQueue} does not exist)`);
    throw error;
  }
}

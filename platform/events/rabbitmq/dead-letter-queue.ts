import type { ConfirmChannel } from "amqplib";

import type { DeadLetter } from "../event-bus";
import { carriedHeaders, carriedProperties, toDeadLetter } from "./messages";
import { routed } from "./publishing";
import { countReady, deadLetterQueueName } from "./topology";

/**
 * The operator's view of a subscription's dead-letter queue (`orion dead-letters`): both run on a
 * short-lived channel of their own, whose closing puts back every message they did not ack.
 */

/** The broker-side queue `name` of subscription `queue`, on `exchange`. */
export interface DeadLetterSource {
  channel: ConfirmChannel;
  exchange: string;
  name: string;
  queue: string;
}

export async function readDeadLetters({
  channel,
  exchange,
  name,
  queue,
}: DeadLetterSource): Promise<DeadLetter[]> {
  const deadLetterQueue = deadLetterQueueName(name);
  const count = await countReady(channel, exchange, deadLetterQueue, queue);
  const entries: DeadLetter[] = [];
  // At most the messages there when we looked; closing the channel without acking puts every
  // one back where it was: this is a read, not a drain.
  for (let i = 0; i < count; i++) {
    const message = await channel.get(deadLetterQueue, { noAck: false });
    if (!message) break;
    entries.push(toDeadLetter(message));
  }
  return entries;
}

/** Moves dead letters (all, or those with the given ids) back to their queue, attempts reset. */
export async function replayDeadLetters(
  { channel, exchange, name, queue }: DeadLetterSource,
  ids?: readonly string[],
): Promise<number> {
  const deadLetterQueue = deadLetterQueueName(name);
  const wanted = ids ? new Set(ids) : null;
  await countReady(channel, exchange, name, queue);
  // Bounded by what was there when we looked: a replayed event that dies again at once is
  // appended behind, and is not replayed a second time.
  const count = await countReady(channel, exchange, deadLetterQueue, queue);
  let replayed = 0;
  for (let i = 0; i < count; i++) {
    const message = await channel.get(deadLetterQueue, { noAck: false });
    if (!message) break;
    const entry = toDeadLetter(message);
    if (wanted && !wanted.has(entry.id)) continue; // unacked: back in place when the channel closes
    await routed(channel, "", name, message.content, {
      ...carriedProperties(message),
      messageId: entry.id,
      headers: carriedHeaders(message), // attempts reset: no x-orion-attempts
    });
    channel.ack(message);
    replayed++;
  }
  return replayed;
}

import { type EventEnvelope, InvalidEventPayload, parseEnvelope, type RetryPolicy } from "./event-bus";

/**
 * What both buses share about retries and dead letters: how a retry policy is read, how a failure
 * is described, and how a message body becomes an envelope (or a reason it cannot be one).
 */

/** AMQP headers the RabbitMQ bus keeps on a message; named here so operators can grep for them. */
export const HEADERS = {
  /** Failed attempts so far: absent on a first delivery, N on the message waiting for retry N. */
  attempts: "x-orion-attempts",
  /** On a dead letter: why it died. On a message waiting for a retry: the last failure. */
  reason: "x-orion-reason",
  /** On a dead letter: when it died (ISO 8601). */
  deadAt: "x-orion-dead-at",
  /** On a dead letter: the subscription queue it died in. */
  queue: "x-orion-queue",
} as const;

/** Longest reason kept (an AMQP header table is limited to 64 KiB, and a stack trace is in the logs). */
const MAX_REASON_LENGTH = 2_000;

/** The delays of a subscription's policy, checked: whole, non-negative milliseconds. */
export function retryDelays(policy: RetryPolicy): number[] {
  const delays = [...policy.delaysMs];
  for (const delay of delays) {
    if (!Number.isInteger(delay) || delay < 0)
      throw new RangeError(`retry delays must be whole, non-negative milliseconds, not ${delay}`);
  }
  return delays;
}

/** A failure as a dead letter's reason: the error's class and message, bounded. */
export function failureReason(error: unknown): string {
  let text = String(error);
  if (error instanceof Error) {
    // `name` is "Error" on subclasses that do not set it: the class name says more.
    const kind = error.name !== "Error" ? error.name : error.constructor.name;
    text = kind && kind !== "Error" ? `${kind}: ${error.message}` : error.message;
  }
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH - 1)}…` : text;
}

/** The envelope a body carries, or an InvalidEventPayload saying why it carries none. */
export function decodeBody(body: string): EventEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidEventPayload(
      `message body is not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return parseEnvelope(json);
}

/** The envelope a dead letter's body carries, or null. */
export function envelopeOrNull(body: string): EventEnvelope | null {
  try {
    return decodeBody(body);
  } catch {
    return null;
  }
}

/** A handler for an event type its subscription did not bind: the bus refuses it before the handler runs. */
export function unboundTypeError(queue: string, type: string): InvalidEventPayload {
  return new InvalidEventPayload(`queue ${queue} does not handle event type ${type}`);
}

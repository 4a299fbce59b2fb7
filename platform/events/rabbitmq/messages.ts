import { createHash } from "node:crypto";

import type { Message, MessagePropertyHeaders, Options } from "amqplib";

import { envelopeOrNull, HEADERS } from "../dead-letters";
import type { DeadLetter } from "../event-bus";

/** Reading an AMQP message: what it carries on when moved, how often it failed, what a dead letter says. */

/** The properties a retried, dead-lettered or replayed message keeps. */
export function carriedProperties(message: Message): Options.Publish {
  const p = message.properties;
  const properties: Options.Publish = { persistent: true };
  if (p.contentType !== undefined) properties.contentType = p.contentType as string;
  if (p.contentEncoding !== undefined) properties.contentEncoding = p.contentEncoding as string;
  if (p.messageId !== undefined) properties.messageId = p.messageId as string;
  if (p.type !== undefined) properties.type = p.type as string;
  if (p.correlationId !== undefined) properties.correlationId = p.correlationId as string;
  if (p.timestamp !== undefined) properties.timestamp = p.timestamp as number;
  if (p.appId !== undefined) properties.appId = p.appId as string;
  return properties;
}

/** A message's own headers, without the broker's dead-letter history and our failure bookkeeping. */
export function carriedHeaders(message: Message): MessagePropertyHeaders {
  const headers: MessagePropertyHeaders = {};
  for (const [key, value] of Object.entries(message.properties.headers ?? {})) {
    if (key.startsWith("x-death") || key.startsWith("x-first-death") || key.startsWith("x-last-death"))
      continue;
    if ((Object.values(HEADERS) as string[]).includes(key)) continue;
    headers[key] = value;
  }
  return headers;
}

export function failedAttempts(message: Message): number {
  const value = Number(message.properties.headers?.[HEADERS.attempts] ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

export function toDeadLetter(message: Message): DeadLetter {
  const headers = message.properties.headers ?? {};
  const body = message.content.toString("utf8");
  const event = envelopeOrNull(body);
  // Dead-lettered by the broker itself (a rejection before retries existed): its x-death record.
  const death = headers["x-death"]?.[0];
  const time: unknown = death?.time;
  const deathTime = typeof time === "number" ? time : (time as { value?: unknown } | undefined)?.value;
  return {
    // A message with neither a messageId nor an envelope: an id from its body, stable across listings.
    id:
      (message.properties.messageId as string | undefined) ??
      event?.id ??
      `body-${createHash("sha256").update(message.content).digest("hex").slice(0, 16)}`,
    type:
      event?.type ?? (message.properties.type as string | undefined) ?? death?.["routing-keys"]?.[0] ?? null,
    event,
    body,
    reason:
      typeof headers[HEADERS.reason] === "string"
        ? (headers[HEADERS.reason] as string)
        : death
          ? `${death.reason} by the broker`
          : "unknown",
    attempts: Number(headers[HEADERS.attempts] ?? death?.count ?? 1),
    deadAt:
      typeof headers[HEADERS.deadAt] === "string"
        ? (headers[HEADERS.deadAt] as string)
        : new Date(typeof deathTime === "number" ? deathTime * 1000 : 0).toISOString(),
  };
}

import { createHmac, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { NotificationChannel } from "../entities/notification.entity";

/** The channels a webhook provider carries. */
export const WEBHOOK_CHANNELS = [NotificationChannel.SMS, NotificationChannel.PUSH] as const;
export type WebhookChannel = (typeof WEBHOOK_CHANNELS)[number];

/**
 * What a webhook receives (JSON, POST). It names the user, not a phone number or a push token:
 * this subgraph does not hold those yet, so the receiver (the adapter in front of the real SMS or
 * push provider) resolves the user's number or device tokens from `userId`.
 */
export interface WebhookPayload {
  id: string;
  channel: WebhookChannel;
  userId: string;
  title: string;
  body: string;
  kind: string;
  createdAt: string;
}

/**
 * Where SMS and push go: per channel an HTTPS endpoint, or (embedded mode) a local outbox folder
 * where each payload is written as a JSON file. A channel with neither has no provider: its
 * deliveries wait PENDING with "no provider configured".
 */
export interface WebhookSettings {
  urls: Partial<Record<WebhookChannel, string>>;
  /** HMAC-SHA256 key for the `x-orion-signature` header; unsigned without it. */
  signingSecret?: string;
  outboxDir?: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

export const SIGNATURE_HEADER = "x-orion-signature";

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. A receiver verifies it by
 * reading the raw request body, recomputing the HMAC over `${t}.${body}` with the shared secret,
 * comparing it to v1 in constant time (crypto.timingSafeEqual), and rejecting a t older than a few
 * minutes (replay). The delivery `id` is stable across retries: use it to drop duplicates.
 */
export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}

export interface WebhookProvider {
  /** The channels with a provider (an endpoint or the outbox). */
  readonly channels: readonly WebhookChannel[];
  /** Resolves once the receiver answered 2xx (or the file is written); throws otherwise. */
  send(payload: WebhookPayload): Promise<void>;
}

export function createWebhookProvider(settings: WebhookSettings): WebhookProvider {
  const timeoutMs = settings.timeoutMs ?? 10_000;
  const channels = WEBHOOK_CHANNELS.filter((c) => settings.urls[c] || settings.outboxDir);
  return {
    channels,
    send: async (payload) => {
      const body = JSON.stringify(payload);
      const url = settings.urls[payload.channel];
      if (!url) {
        if (!settings.outboxDir) throw new Error(`no provider configured for ${payload.channel}`);
        mkdirSync(settings.outboxDir, { recursive: true });
        const stamp = new Date().toISOString().replace(/[:.]/g, "-");
        const name = `${stamp}-${payload.channel.toLowerCase()}-${payload.id}-${randomUUID().slice(0, 8)}.json`;
        writeFileSync(path.join(settings.outboxDir, name), `${body}\n`);
        return;
      }
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (settings.signingSecret) headers[SIGNATURE_HEADER] = signWebhook(settings.signingSecret, body);
      const response = await fetch(url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Read (and drop) the body so the connection goes back to the pool.
      const answer = await response.text().catch(() => "");
      if (response.status < 200 || response.status >= 300)
        throw new Error(`webhook answered ${response.status}${answer ? `: ${answer.slice(0, 200)}` : ""}`);
    },
  };
}

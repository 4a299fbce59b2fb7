import amqp, { type ChannelModel } from "amqplib";

import type { RabbitMqOptions } from "./options";

/** Opening a broker connection and pacing the attempts to reopen one; the bus keeps the state. */

export type ConnectionSettings = Pick<
  RabbitMqOptions,
  "url" | "exchange" | "heartbeatSeconds" | "connectTimeoutMs" | "connectionName" | "logger"
>;

/** Connects with a heartbeat and every listener attached; `onClose` hears when this connection ends. */
export async function openConnection(
  settings: ConnectionSettings,
  onClose: (connection: ChannelModel, error: Error | undefined) => void,
): Promise<ChannelModel> {
  const { logger } = settings;
  const connection = await amqp.connect(connectionUrl(settings), {
    timeout: settings.connectTimeoutMs ?? 5000,
    clientProperties: { connection_name: settings.connectionName ?? `orion ${settings.exchange}` },
  });
  // Listeners first: an 'error' without one would crash the process.
  connection.on("error", (error: Error) => logger.warn({ err: error }, "RabbitMQ connection error"));
  connection.on("close", (error?: Error) => onClose(connection, error));
  connection.on("blocked", (reason: string) =>
    logger.warn({ reason }, "RabbitMQ blocked publishing (resource alarm)"),
  );
  connection.on("unblocked", () => logger.info("RabbitMQ unblocked publishing"));
  return connection;
}

/** The URL with a heartbeat, so a silent peer is noticed; a `heartbeat` already in the URL wins. */
function connectionUrl(settings: ConnectionSettings): string {
  const url = new URL(settings.url);
  if (!url.searchParams.has("heartbeat"))
    url.searchParams.set("heartbeat", String(settings.heartbeatSeconds ?? 10));
  return url.toString();
}

/** The wait before reconnection attempt `attempt` (0-based): doubling, capped, with jitter below the cap. */
export function reconnectDelay(attempt: number, backoff: RabbitMqOptions["reconnect"] = {}): number {
  const { initialDelayMs = 100, maxDelayMs = 5000 } = backoff;
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

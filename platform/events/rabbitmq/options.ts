import type { Logger } from "../../logger";
import type { RetryPolicy } from "../event-bus";

export interface RabbitMqOptions {
  url: string;
  /** Durable topic exchange every event is published to; queues are named after it. */
  exchange: string;
  /** Unacknowledged deliveries the broker sends a consumer ahead (default 16). */
  prefetch?: number;
  logger: Logger;
  /** Retries of subscriptions that set none (default DEFAULT_RETRY_POLICY). */
  retry?: RetryPolicy;
  /**
   * AMQP heartbeat (default 10 s): a connection that goes silent (a dead peer, a dropped network
   * path) is declared lost after about two intervals. A `heartbeat` in the URL wins.
   */
  heartbeatSeconds?: number;
  /** Backoff between reconnection attempts: doubling from `initialDelayMs` (100) up to `maxDelayMs` (5000). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** How long one connection attempt may take (default 5000 ms). */
  connectTimeoutMs?: number;
  /** The name the broker shows for this connection (management UI, `rabbitmqctl list_connections`). */
  connectionName?: string;
  /**
   * Only check that the exchanges exist, never create them (operator tools: a mistyped exchange
   * name fails instead of leaving an empty exchange behind).
   */
  passive?: boolean;
}

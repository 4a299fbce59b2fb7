import { createLogger } from "../../platform/logger";
import { REAL_SERVICES } from "../support/services";

/** Shared by the event fault tests: what they log (TEST_LOG_LEVEL to see it) and how they put a proxy in between. */

export const logger = createLogger("test", process.env.TEST_LOG_LEVEL ?? "silent");
export const amqpTarget = () => {
  const url = new URL(REAL_SERVICES.rabbitmq.url);
  return { url, target: { host: url.hostname, port: Number(url.port || 5672) } };
};
export const viaProxy = (url: URL, port: number) => {
  const proxied = new URL(url.toString());
  proxied.hostname = "127.0.0.1";
  proxied.port = String(port);
  return proxied.toString();
};

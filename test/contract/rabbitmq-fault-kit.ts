import { execFile } from "node:child_process";
import { createConnection, createServer, type Socket } from "node:net";
import { promisify } from "node:util";

import { z } from "zod";

import {
  createEnvelope,
  defineEvent,
  type EventEnvelope,
  type Subscription,
} from "../../platform/events/event-bus";
import { RabbitMqEventBus, type RabbitMqOptions } from "../../platform/events/rabbitmq-bus";
import { createLogger } from "../../platform/logger";
import { eventually } from "../support/async";
import { deleteRabbitMqObjects, REAL_SERVICES, runId } from "../support/services";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

// What rabbitmq-faults.test.ts needs: buses on a run of their own, the events they carry, and the
// ways to hurt them (a connection killed by the broker, a path that goes silent, a deadline).

const logger = createLogger("test", process.env.FAULT_LOG ?? "silent");
export const RUN = runId();
export const EXCHANGE = `orion.test.${RUN}`;
export const AMQP = new URL(REAL_SERVICES.rabbitmq.url);
/** Reconnection tuned for a test: attempts 50 ms apart, doubling to at most 500 ms. */
const RECONNECT = { initialDelayMs: 50, maxDelayMs: 500 };

export const Tick = defineEvent("test.fault.tick", 1, z.object({ n: z.number().int() }));
export const tick = (n: number) => createEnvelope(Tick, { n }, { producer: "fault-test" });
export const nOf = (event: EventEnvelope) => (event.payload as { n: number }).n;

/** Calls `operation` and fails the test unless it settles within `ms`. */
export async function settlesWithin<T>(
  ms: number,
  operation: () => Promise<T>,
): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([
      operation().then(
        (value): PromiseSettledResult<T> => ({ status: "fulfilled", value }),
        (reason: unknown): PromiseSettledResult<T> => ({ status: "rejected", reason }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Kills a connection from the broker's side, found by the name the bus gives it. Through the
 * management API when it answers (the docker compose broker has it); else with `rabbitmqctl`
 * (the broker installed on this machine and CI's, where the management plugin is not enabled).
 * Null when neither is available.
 */
export async function brokerSideKiller(): Promise<((connectionName: string) => Promise<void>) | null> {
  const management = new URL(process.env.TEST_RABBITMQ_MANAGEMENT_URL ?? "http://127.0.0.1:15672");
  const headers = {
    authorization: `Basic ${Buffer.from(
      `${decodeURIComponent(AMQP.username || "guest")}:${decodeURIComponent(AMQP.password || "guest")}`,
    ).toString("base64")}`,
  };
  const managementAnswers = await fetch(new URL("/api/overview", management), {
    headers,
    signal: AbortSignal.timeout(1000),
  })
    .then((response) => response.ok)
    .catch(() => false);
  if (managementAnswers) {
    return async (connectionName) => {
      const connection = await eventually(async () => {
        // The management API's connection list is refreshed every few seconds.
        const response = await fetch(new URL("/api/connections", management), { headers });
        const list = (await response.json()) as {
          name: string;
          client_properties?: { connection_name?: string };
        }[];
        const found = list.find((c) => c.client_properties?.connection_name === connectionName);
        if (!found) throw new Error(`connection ${connectionName} not listed by the management API`);
        return found;
      });
      const response = await fetch(
        new URL(`/api/connections/${encodeURIComponent(connection.name)}`, management),
        {
          method: "DELETE",
          headers: { ...headers, "x-reason": "fault test" },
        },
      );
      if (!response.ok)
        throw new Error(`management API refused to close ${connection.name}: ${response.status}`);
    };
  }
  const run = promisify(execFile);
  const rabbitmqctl = (args: string[]) => run("rabbitmqctl", ["-q", ...args], { timeout: 15_000 });
  const ctlWorks = await rabbitmqctl(["list_connections", "--no-table-headers", "pid"])
    .then(() => true)
    .catch(() => false);
  if (!ctlWorks) return null;
  return async (connectionName) => {
    const { stdout } = await rabbitmqctl([
      "list_connections",
      "--no-table-headers",
      "pid",
      "client_properties",
    ]);
    const line = stdout.split("\n").find((l) => l.includes(`"${connectionName}"`));
    if (!line) throw new Error(`connection ${connectionName} not listed by rabbitmqctl`);
    await rabbitmqctl(["close_connection", line.split("\t")[0]!, "fault test"]);
  };
}

/**
 * A proxy that can go silent without closing anything, as a dead peer or a dropped route does:
 * only heartbeats notice. While frozen, new connections are accepted and then hang too.
 */
export async function startFreezableProxy(target: { host: string; port: number }) {
  const open = new Set<Socket>();
  let frozen = false;
  const server = createServer((client) => {
    open.add(client);
    client.on("error", () => client.destroy());
    client.once("close", () => open.delete(client));
    if (frozen) return; // accepted, never answered
    const upstream = createConnection(target);
    open.add(upstream);
    upstream.on("error", () => upstream.destroy());
    upstream.once("close", () => open.delete(upstream));
    // While frozen, not even the broker hanging up (its own heartbeat check) reaches the client.
    client.once("close", () => frozen || upstream.destroy());
    upstream.once("close", () => frozen || client.destroy());
    client.on("data", (chunk: Buffer) => frozen || upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => frozen || client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy has no TCP address");
  const destroyAll = () => {
    for (const socket of open) socket.destroy();
  };
  return {
    port: address.port,
    freeze: () => (frozen = true),
    /** New connections are forwarded again; the frozen ones are dropped (the client gave up on them). */
    thaw: () => {
      frozen = false;
      destroyAll();
    },
    close: async () => {
      destroyAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * The buses of one suite (call inside its describe block): each publishes to the run's exchange and
 * reconnects at test pace; it is closed after its test with any proxy in front of it, and the run's
 * queues are deleted after the last test.
 */
export function faultTestBuses() {
  const buses: RabbitMqEventBus[] = [];
  const proxies: TcpProxy[] = [];
  const queues: string[] = [];

  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.close();
    for (const proxy of proxies.splice(0)) await proxy.close();
  });

  afterAll(() => deleteRabbitMqObjects(EXCHANGE, queues));

  const queue = (purpose: string) => {
    const name = `${purpose}-${queues.length}`;
    queues.push(name);
    return name;
  };

  async function connect(options: Partial<RabbitMqOptions> = {}): Promise<RabbitMqEventBus> {
    const bus = await RabbitMqEventBus.connect({
      url: REAL_SERVICES.rabbitmq.url,
      exchange: EXCHANGE,
      logger,
      reconnect: RECONNECT,
      retry: { delaysMs: [50, 100] },
      ...options,
    });
    buses.push(bus);
    return bus;
  }

  /** A bus whose only way to the broker is a TCP proxy the test can cut. */
  async function connectThroughProxy(): Promise<{ bus: RabbitMqEventBus; proxy: TcpProxy }> {
    const proxy = await startTcpProxy({ host: AMQP.hostname, port: Number(AMQP.port || 5672) });
    proxies.push(proxy);
    const url = new URL(REAL_SERVICES.rabbitmq.url);
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    return { bus: await connect({ url: url.toString() }), proxy };
  }

  /** Subscribes a handler that records every event and checks it is never run twice at once. */
  async function recordingConsumer(bus: RabbitMqEventBus, name: string, options: Partial<Subscription> = {}) {
    const handled: number[] = [];
    let running = 0;
    let mostAtOnce = 0;
    await bus.subscribe({
      queue: name,
      eventTypes: [Tick.type],
      handler: async (event) => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        try {
          await new Promise((resolve) => setTimeout(resolve, 5)); // a handler doing I/O
          handled.push(nOf(event));
        } finally {
          running--;
        }
      },
      ...options,
    });
    return { handled, mostAtOnce: () => mostAtOnce };
  }

  /** Publishes `events`; returns the numbers the broker confirmed. */
  async function publishAll(bus: RabbitMqEventBus, events: EventEnvelope[]): Promise<number[]> {
    const results = await Promise.allSettled(events.map((event) => bus.publish(event)));
    return events.filter((_, i) => results[i]!.status === "fulfilled").map(nOf);
  }

  return { queue, connect, connectThroughProxy, recordingConsumer, publishAll };
}

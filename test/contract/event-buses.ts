import amqp, { type ChannelModel } from "amqplib";
import { z } from "zod";

import {
  createEnvelope,
  type DeadLetter,
  defineEvent,
  type EventBus,
  type EventEnvelope,
  type PayloadOf,
  type RetryPolicy,
} from "../../platform/events/event-bus";
import { InProcessEventBus } from "../../platform/events/in-process-bus";
import { RabbitMqEventBus } from "../../platform/events/rabbitmq-bus";
import { createLogger } from "../../platform/logger";
import { deleteRabbitMqObjects, REAL_SERVICES, type RealService, runId } from "../support/services";

// One specification, every EventBus: the in-process bus a laptop runs is only trustworthy because
// it passes the same tests as RabbitMQ. The event-bus*.contract.test.ts files run their tests
// against each adapter here.

export const logger = createLogger("test", "silent");
export const RUN = runId();
// Each run publishes to its own exchange, so parallel or aborted runs never see each other's events.
export const EXCHANGE = `orion.test.${RUN}`;

export const OrderPlaced = defineEvent(
  "test.order.placed",
  1,
  z.object({
    orderId: z.string(),
    amount: z.number().int().positive(),
    items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
  }),
);
export const OrderCancelled = defineEvent("test.order.cancelled", 1, z.object({ orderId: z.string() }));

export function placed(orderId: string): EventEnvelope<PayloadOf<typeof OrderPlaced>> {
  return createEnvelope(
    OrderPlaced,
    { orderId, amount: 4200, items: [{ sku: "crème-brûlée", quantity: 2 }] },
    { producer: "contract-test" },
  );
}

/** Readable in a failure message, unlike the envelope's UUID. */
export const orderIdOf = (event: EventEnvelope) => (event.payload as { orderId: string }).orderId;

/** Retries in milliseconds rather than minutes: the policy is the subscription's, the behaviour the bus's. */
export const FAST_RETRY: RetryPolicy = { delaysMs: [50, 100] };

export interface BusAdapter {
  name: string;
  services: readonly RealService[];
  /** A bus whose subscriptions retry after `retry` unless they set their own (FAST_RETRY by default). */
  open(options?: { retry?: RetryPolicy }): Promise<EventBus>;
  /** Puts a body on the wire as any producer could, envelope or not, routed as event type `routingKey`. */
  publishRaw(bus: EventBus, routingKey: string, body: string): Promise<void>;
  /** Removes what the run left behind on a broker; `queues` are the subscription queue names used. */
  cleanup(queues: readonly string[]): Promise<void>;
}

/** A producer that does not use the bus: a connection of the test's own, opened on first use. */
let rawProducer: ChannelModel | undefined;

export const BUS_ADAPTERS: BusAdapter[] = [
  {
    name: InProcessEventBus.name,
    services: [],
    open: async ({ retry = FAST_RETRY } = {}) => new InProcessEventBus(logger, { retry }),
    publishRaw: async (bus, routingKey, body) => (bus as InProcessEventBus).publishRaw(routingKey, body),
    cleanup: async () => undefined,
  },
  {
    name: RabbitMqEventBus.name,
    services: ["rabbitmq"],
    open: ({ retry = FAST_RETRY } = {}) =>
      RabbitMqEventBus.connect({ url: REAL_SERVICES.rabbitmq.url, exchange: EXCHANGE, logger, retry }),
    publishRaw: async (_bus, routingKey, body) => {
      rawProducer ??= await amqp.connect(REAL_SERVICES.rabbitmq.url);
      const channel = await rawProducer.createConfirmChannel();
      channel.publish(EXCHANGE, routingKey, Buffer.from(body), { persistent: true });
      await channel.waitForConfirms();
      await channel.close();
    },
    cleanup: async (queues: readonly string[]) => {
      await rawProducer?.close();
      await deleteRabbitMqObjects(EXCHANGE, queues);
    },
  },
];

/** Dead letters without the parts that vary from run to run, for comparing whole lists. */
export const withoutTimes = (entries: DeadLetter[]) => entries.map(({ deadAt: _deadAt, ...rest }) => rest);

/**
 * For the tests of one adapter (called inside its describe block): `setup()` opens a bus, closed after
 * the test, with queue names no other test uses and a recording consumer; the adapter removes the
 * run's queues after the last test.
 */
export function busSetup(adapter: BusAdapter) {
  const opened: EventBus[] = [];
  const queues: string[] = [];

  afterEach(async () => {
    for (const bus of opened.splice(0)) await bus.close();
  });
  afterAll(() => adapter.cleanup(queues));

  return async function setup(options?: { retry?: RetryPolicy }) {
    const bus = await adapter.open(options);
    opened.push(bus);
    // Durable broker queues outlive a test: every test gets queue names no other test uses.
    const queue = (purpose: string) => {
      const name = `${purpose}-${queues.length}`;
      queues.push(name);
      return name;
    };
    /** Subscribes and records every event the handler is given, before `onEvent` runs. */
    const consume = async (
      name: string,
      eventTypes: readonly string[],
      onEvent: (event: EventEnvelope) => Promise<void> = async () => undefined,
    ) => {
      const received: EventEnvelope[] = [];
      await bus.subscribe({
        queue: name,
        eventTypes,
        handler: async (event) => {
          received.push(event);
          await onEvent(event);
        },
      });
      return received;
    };
    return { bus, queue, consume };
  };
}

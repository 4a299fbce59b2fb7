import amqp from "amqplib";
import { z } from "zod";

import { createEnvelope, type DeadLetter, defineEvent } from "../../platform/events/event-bus";
import { RabbitMqEventBus } from "../../platform/events/rabbitmq-bus";
import { createLogger } from "../../platform/logger";
import { eventually } from "../support/async";
import { orion } from "../support/cli";
import { deleteRabbitMqObjects, describeWithServices, REAL_SERVICES, runId } from "../support/services";

describeWithServices(["rabbitmq"], "orion events (dead letters)", () => {
  const exchange = `orion.test.${runId()}.cli`;
  const queue = "notification.welcome";
  const env = { AMQP_URL: REAL_SERVICES.rabbitmq.url, AMQP_EXCHANGE: exchange };
  const Welcome = defineEvent("test.cli.registered", 1, z.object({ email: z.string() }));
  const events = ["ada@example.com", "bob@example.com"].map((email) =>
    createEnvelope(Welcome, { email }, { producer: "cli-test" }),
  );
  let bus: RabbitMqEventBus;
  let broken = true;
  const handled: string[] = [];

  /** What the operator sees: the queue's dead letters, read through the bus. */
  const deadIds = async () => (await bus.deadLetters(queue)).map((entry) => entry.id);

  beforeAll(async () => {
    // A consumer that fails at once (no retries), like a welcome mailer whose SMTP server is down.
    bus = await RabbitMqEventBus.connect({
      url: REAL_SERVICES.rabbitmq.url,
      exchange,
      logger: createLogger("test", "silent"),
      retry: { delaysMs: [] },
    });
    await bus.subscribe({
      queue,
      eventTypes: [Welcome.type],
      handler: async (event) => {
        if (broken) throw new Error("SMTP server refused the connection");
        handled.push(event.id);
      },
    });
    for (const event of events) await bus.publish(event);
    // And a message from a producer that does not send ORION envelopes.
    const producer = await amqp.connect(REAL_SERVICES.rabbitmq.url);
    const channel = await producer.createConfirmChannel();
    channel.publish(exchange, Welcome.type, Buffer.from("not json at all"), { messageId: "garbage-1" });
    await channel.waitForConfirms();
    await producer.close();
    await eventually(async () => expect(await deadIds()).toHaveLength(3));
  });

  afterAll(async () => {
    await bus?.close();
    await deleteRabbitMqObjects(exchange, [queue]);
  });

  it("lists a queue's dead letters with id, type, attempts, time and reason, and leaves them in place", async () => {
    const run = orion(["events", "dead-letters", queue], env);
    expect(await run.exited).toBe(0);
    const lines = run.output().stdout.split("\n");
    expect(lines[0]).toMatch(/^ID +TYPE +ATTEMPTS +DEAD AT +REASON$/);
    for (const event of events) {
      const line = lines.find((l) => l.startsWith(event.id));
      expect(line).toMatch(
        new RegExp(
          `${event.id} +${Welcome.type} +1 +\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z +SMTP server refused the connection`,
        ),
      );
    }
    expect(lines.find((l) => l.startsWith("garbage-1"))).toMatch(
      /garbage-1 +test\.cli\.registered +1 .*not JSON/,
    );
    expect(run.output().stdout).toContain("3 dead letter(s)");
    expect(await deadIds()).toHaveLength(3);
  }, 60_000);

  it("prints one dead letter in full as JSON, and says so when the id is unknown", async () => {
    const run = orion(["events", "inspect", queue, events[0]!.id], env);
    expect(await run.exited).toBe(0);
    const entry = JSON.parse(run.output().stdout) as DeadLetter;
    expect(entry).toEqual({
      id: events[0]!.id,
      type: Welcome.type,
      event: events[0],
      body: JSON.stringify(events[0]),
      reason: "SMTP server refused the connection",
      attempts: 1,
      deadAt: expect.any(String),
    });

    const garbage = orion(["events", "inspect", queue, "garbage-1"], env);
    expect(await garbage.exited).toBe(0);
    expect(JSON.parse(garbage.output().stdout)).toMatchObject({ event: null, body: "not json at all" });

    const unknown = orion(["events", "inspect", queue, "no-such-id"], env);
    expect(await unknown.exited).toBe(1);
    expect(unknown.output().stderr).toContain("no dead letter no-such-id");
  }, 60_000);

  it("refuses an unknown queue, exchange or missing configuration with one line, not a stack trace", async () => {
    const typo = orion(["events", "dead-letters", "notification.welcom"], env);
    expect(await typo.exited).toBe(1);
    expect(typo.output().stderr).toContain("no queue notification.welcom");
    expect(typo.output().stderr).not.toMatch(/\n\s+at /);

    const wrongExchange = orion(["events", "dead-letters", queue], {
      ...env,
      AMQP_EXCHANGE: `${exchange}.typo`,
    });
    expect(await wrongExchange.exited).toBe(1);
    expect(wrongExchange.output().stderr).toContain(`no exchange ${exchange}.typo`);

    const unconfigured = orion(["events", "dead-letters", queue]);
    expect(await unconfigured.exited).toBe(1);
    expect(unconfigured.output().stderr).toContain("AMQP_URL: is required");
  }, 60_000);

  it("replays the dead letters named with --id, then all the others, with their attempts reset", async () => {
    broken = false; // the cause is fixed

    const one = orion(["events", "replay", queue, "--id", events[1]!.id], env);
    expect(await one.exited).toBe(0);
    expect(one.output().stdout).toContain(`replayed 1 dead letter(s) to ${queue}`);
    await eventually(() => expect(handled).toEqual([events[1]!.id]));
    expect(await deadIds()).toEqual([events[0]!.id, "garbage-1"]);

    const unknown = orion(["events", "replay", queue, "--id", "no-such-id"], env);
    expect(await unknown.exited).toBe(1);
    expect(unknown.output().stderr).toContain("no dead letter no-such-id");

    const all = orion(["events", "replay", queue], env);
    expect(await all.exited).toBe(0);
    expect(all.output().stdout).toContain(`replayed 2 dead letter(s) to ${queue}`);
    await eventually(() => expect(handled).toEqual([events[1]!.id, events[0]!.id]));
    // The body that is not an envelope cannot succeed: back in the dead letters, one attempt again.
    await eventually(async () =>
      expect(await bus.deadLetters(queue)).toEqual([
        expect.objectContaining({ id: "garbage-1", attempts: 1 }),
      ]),
    );
  }, 60_000);
});

import type { Command } from "commander";

import { parseEnv } from "../platform/config";
import type * as RabbitMqBus from "../platform/events/rabbitmq-bus";
import { createLogger } from "../platform/logger";

/* Dead letters (docs/dead-letters.md): what the RabbitMQ bus gave up on, per subscription queue. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by the events commands
const loadRabbitMqBus = () => require("../platform/events/rabbitmq-bus") as typeof RabbitMqBus;

/** Runs an events command against AMQP_URL / AMQP_EXCHANGE; any failure is one line on stderr and exit 1. */
function withEventBus(use: (bus: RabbitMqBus.RabbitMqEventBus) => Promise<void>): void {
  const run = async () => {
    const env = parseEnv(["AMQP_URL", "AMQP_EXCHANGE"]);
    const url = new URL(env.AMQP_URL);
    if (url.password) url.password = "***";
    const { RabbitMqEventBus } = loadRabbitMqBus();
    const bus = await RabbitMqEventBus.connect({
      url: env.AMQP_URL,
      exchange: env.AMQP_EXCHANGE,
      logger: createLogger("orion", "silent"),
      connectionName: "orion events (CLI)",
      passive: true,
    }).catch((error: unknown) => {
      throw new Error(`cannot use RabbitMQ at ${url.toString()}: ${messageOf(error)}`);
    });
    try {
      await use(bus);
    } finally {
      await bus.close();
    }
  };
  run().catch((error: unknown) => {
    // An operator's mistake or an unreachable broker: the message, not a stack trace.
    console.error(
      error instanceof Error && error.name === "ConfigError" ? error.message : `error: ${messageOf(error)}`,
    );
    process.exit(1);
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One line of a table: each cell padded to its column's width, the last left as it is. */
function tableRows(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "),
  );
}

/** `orion events dead-letters | inspect | replay`: what the RabbitMQ bus gave up on, per subscription queue. */
export function addEventCommands(program: Command): void {
  const events = program
    .command("events")
    .description("Dead letters of the event queues (AMQP_URL, AMQP_EXCHANGE); see docs/dead-letters.md");
  events
    .command("dead-letters")
    .argument("<queue>", "subscription queue, e.g. notification.welcome")
    .description("List a queue's dead letters, oldest first (they stay where they are)")
    .action((queue: string) =>
      withEventBus(async (bus) => {
        const entries = await bus.deadLetters(queue);
        if (entries.length === 0) {
          console.log(`no dead letters in ${queue}`);
          return;
        }
        const oneLine = (text: string) => {
          const flat = text.replace(/\s+/g, " ").trim();
          return flat.length > 120 ? `${flat.slice(0, 119)}…` : flat;
        };
        const rows = [
          ["ID", "TYPE", "ATTEMPTS", "DEAD AT", "REASON"],
          ...entries.map((e) => [e.id, e.type ?? "-", String(e.attempts), e.deadAt, oneLine(e.reason)]),
        ];
        console.log(
          [
            ...tableRows(rows),
            "",
            `${entries.length} dead letter(s) in ${queue}.`,
            `  full entry:  orion events inspect ${queue} <id>`,
            `  replay:      orion events replay ${queue} [--id <id>...]   (after fixing the cause)`,
          ].join("\n"),
        );
      }),
    );
  events
    .command("inspect")
    .argument("<queue>", "subscription queue, e.g. notification.welcome")
    .argument("<id>", "dead letter id (the event id), as listed by `orion events dead-letters`")
    .description("Print one dead letter in full as JSON: event, raw body, reason, attempts, time")
    .action((queue: string, id: string) =>
      withEventBus(async (bus) => {
        const matches = (await bus.deadLetters(queue)).filter((entry) => entry.id === id);
        if (matches.length === 0) throw new Error(`no dead letter ${id} in ${queue}`);
        // The same event dead-lettered twice (it was delivered twice) is listed twice.
        console.log(JSON.stringify(matches.length === 1 ? matches[0] : matches, null, 2));
      }),
    );
  events
    .command("replay")
    .argument("<queue>", "subscription queue, e.g. notification.welcome")
    .option("--id <id...>", "only these dead letters (repeatable); all of them when absent")
    .description("Move dead letters back to their queue with their attempts reset; the others stay")
    .action((queue: string, options: { id?: string[] }) =>
      withEventBus(async (bus) => {
        const ids = options.id;
        let missing: string[] = [];
        if (ids) {
          const present = new Set((await bus.deadLetters(queue)).map((entry) => entry.id));
          missing = ids.filter((id) => !present.has(id));
        }
        const replayed = await bus.replayDeadLetters(queue, ids);
        console.log(`replayed ${replayed} dead letter(s) to ${queue}`);
        if (missing.length > 0) throw new Error(`no dead letter ${missing.join(", ")} in ${queue}`);
      }),
    );
}

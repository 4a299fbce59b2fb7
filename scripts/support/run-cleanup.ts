import amqp from "amqplib";
import pg from "pg";
import { createClient } from "redis";

import { SUBGRAPH_NAMES } from "../../platform/config";
import { dropDatabase } from "../../platform/database/database";
import { SUBGRAPHS } from "../../subgraphs";
import { databaseName, databasePrefix, databaseUrl, REAL } from "./environment";
import { within } from "./timing";

/** Best effort: drop the run's databases, Redis keys, RabbitMQ queues and exchanges; report what remains. */
export async function cleanUp(runId: string, prefix: string, exchange: string): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, step: () => Promise<void>) => {
    try {
      if (!(await within(step(), 15_000))) problems.push(`${what}: timed out`);
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  for (const name of SUBGRAPH_NAMES)
    await attempt(`drop ${databaseName(runId, name)}`, () => dropDatabase(databaseUrl(runId, name)));
  await attempt("check databases", async () => {
    const client = new pg.Client({
      connectionString: `${REAL.postgres}/postgres`,
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    try {
      const left = await client.query<{ datname: string }>(
        "select datname from pg_database where datname like $1",
        [`${databasePrefix(runId)}%`],
      );
      if (left.rows.length > 0)
        problems.push(`databases left: ${left.rows.map((r) => r.datname).join(", ")}`);
    } finally {
      await client.end();
    }
  });

  await attempt("redis keys", async () => {
    const client = createClient({
      url: REAL.redis,
      socket: { connectTimeout: 5000, reconnectStrategy: false },
    });
    client.on("error", () => undefined);
    await client.connect();
    try {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
        if (keys.length > 0) await client.del(keys);
      }
      let left = 0;
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) left += keys.length;
      if (left > 0) problems.push(`${left} Redis keys left under ${prefix}`);
    } finally {
      await client.quit();
    }
  });

  await attempt("rabbitmq", async () => {
    const connection = await amqp.connect(REAL.amqp, { timeout: 5000 });
    connection.on("error", () => undefined);
    try {
      const queues: string[] = [];
      for (const name of SUBGRAPH_NAMES) {
        // Only the queue names are read; the handlers are never called.
        const subscriptions =
          SUBGRAPHS[name].subscriptions?.({ db: null, deps: null, bus: null, logger: null } as never) ?? [];
        for (const { queue } of subscriptions)
          queues.push(`${exchange}.${queue}`, `${exchange}.${queue}.dead`);
      }
      // A failed operation closes its channel, so each gets its own.
      const onChannel = async (step: (channel: amqp.Channel) => Promise<unknown>) => {
        const channel = await connection.createChannel();
        channel.on("error", () => undefined);
        try {
          await step(channel);
          await channel.close();
          return true;
        } catch {
          return false;
        }
      };
      for (const queue of queues) {
        if (!(await onChannel((channel) => channel.deleteQueue(queue))))
          problems.push(`could not delete queue ${queue}`);
      }
      for (const name of [exchange, `${exchange}.dead-letter`]) {
        if (!(await onChannel((channel) => channel.deleteExchange(name))))
          problems.push(`could not delete exchange ${name}`);
      }
      // checkQueue/checkExchange fail (404) when the object is gone, which is what we want.
      for (const queue of queues) {
        if (await onChannel((channel) => channel.checkQueue(queue)))
          problems.push(`queue ${queue} still exists`);
      }
      for (const name of [exchange, `${exchange}.dead-letter`]) {
        if (await onChannel((channel) => channel.checkExchange(name)))
          problems.push(`exchange ${name} still exists`);
      }
    } finally {
      await connection.close().catch(() => undefined);
    }
  });
  return problems;
}

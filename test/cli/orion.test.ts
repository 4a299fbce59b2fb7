import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { parseConfig as parseEnv } from "../../subgraphs";
import { dropDatabase } from "../../platform/database/database";
import { clusterDirectory } from "../../platform/database/embedded-postgres";
import { parseSigningKeyBundle } from "../../platform/identity/signing-keys";
import { ACCESS_TOKEN_TTL_SECONDS, TokenIssuer } from "../../subgraphs/auth/services/token-issuer";
import amqp from "amqplib";
import { createEnvelope, defineEvent, type DeadLetter } from "../../platform/events/event-bus";
import { RabbitMqEventBus } from "../../platform/events/rabbitmq-bus";
import { createLogger } from "../../platform/logger";
import { z } from "zod";
import { eventually } from "../support/async";
import { orion } from "../support/cli";
import { PASSWORD } from "../support/identity";
import {
  databaseUrl,
  deleteRabbitMqObjects,
  describeWithServices,
  REAL_SERVICES,
  runId,
} from "../support/services";

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("orion start", () => {
  it("starts the whole supergraph on embedded defaults, and on SIGTERM stops everything and exits 0", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "orion-cli-"));
    const ports = {
      ROUTER_PORT: "0",
      AUTH_PORT: "0",
      USER_PORT: "0",
      NOTIFICATION_PORT: "0",
      ANALYTICS_PORT: "0",
    };
    const sender = "ORION CLI test <cli-test@orion.test>";
    const run = orion(["start"], { ORION_DATA_DIR: dataDir, MAIL_FROM: sender, ...ports });
    try {
      await waitFor(
        () => /Router: +http/.test(run.output().stdout),
        90_000,
        `the ready banner\n${run.output().stderr}`,
      );
      const routerUrl = /Router: +(\S+)/.exec(run.output().stdout)![1]!;
      expect(run.output().stdout).toContain("embedded defaults");
      const ready = await fetch(new URL("/ready", routerUrl));
      expect(ready.status).toBe(200);

      // The welcome e-mail lands in the data folder's outbox, from the configured sender.
      const registered = await fetch(routerUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: `mutation { register(input: { email: "cli@example.com", password: "${PASSWORD}", displayName: "Cli" }) { accessToken } }`,
        }),
      });
      expect(registered.status).toBe(200);
      const outbox = path.join(dataDir, "mail");
      const mails = () =>
        existsSync(outbox)
          ? readdirSync(outbox)
              .filter((name) => name.endsWith(".eml"))
              .map((name) => readFileSync(path.join(outbox, name), "utf8"))
          : [];
      // Read until a whole message is there (the file is created before it is written).
      await waitFor(() => mails().some((mail) => /^From: /m.test(mail)), 20_000, "the welcome e-mail");
      expect(mails().find((mail) => /^From: /m.test(mail))).toMatch(
        /^From: ORION CLI test <cli-test@orion\.test>$/m,
      );
      const pidFile = path.join(clusterDirectory(dataDir), "postmaster.pid");
      expect(existsSync(pidFile)).toBe(true);

      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
      expect(existsSync(pidFile)).toBe(false); // the cluster was stopped, not orphaned
    } finally {
      run.child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("orion migrate", () => {
  it("names every missing database variable and exits 1", async () => {
    const run = orion(["migrate", "auth", "user"]);
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toContain("AUTH_DATABASE_URL: is required");
    expect(run.output().stderr).toContain("USER_DATABASE_URL: is required");
    expect(run.output().stderr).not.toMatch(/\n\s+at /); // a configuration problem, not a stack trace
  }, 60_000);
});

describeWithServices(["postgres"], "orion migrate on a PostgreSQL server", () => {
  it("creates the database when missing, applies the subgraph's migrations and exits", async () => {
    const url = databaseUrl(`orion_test_${runId()}_cli`);
    try {
      const run = orion(["migrate", "auth"], { AUTH_DATABASE_URL: url });
      expect(await run.exited).toBe(0);
      expect(run.output().stdout).toContain("auth: migrations applied");
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const tables = await client.query("select tablename from pg_tables where schemaname = 'public'");
      await client.end();
      expect(tables.rows.map((row: { tablename: string }) => row.tablename)).toEqual(
        expect.arrayContaining(["users", "mikro_orm_migrations"]),
      );
    } finally {
      await dropDatabase(url);
    }
  }, 60_000);
});

describeWithServices(["postgres"], "orion analytics seed", () => {
  it("loads synthetic users and events with their rollups, and refuses a bad count", async () => {
    const url = databaseUrl(`orion_test_${runId()}_seed`);
    try {
      const run = orion(["analytics", "seed", "--events", "5000", "--users", "50", "--days", "30"], {
        ANALYTICS_DATABASE_URL: url,
      });
      expect(await run.exited).toBe(0);
      expect(run.output().stdout).toMatch(/^seeded 5000 events for 50 users in [\d.]+ s \(\d+ events\/s\)$/m);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{
        events: string;
        registered: string;
        counted: string;
        users: string;
      }>(
        `select (select count(*) from events) as events,
                (select count(*) from events where name = 'user.registered') as registered,
                (select sum(count) from event_counts_hourly) as counted,
                (select count(*) from user_totals where registered_at > now() - interval '31 days') as users`,
      );
      await client.end();
      expect(rows[0]).toEqual({ events: "5000", registered: "50", counted: "5000", users: "50" });

      const bad = orion(["analytics", "seed", "--events", "0"], { ANALYTICS_DATABASE_URL: url });
      expect(await bad.exited).toBe(1);
      expect(bad.output().stderr).toMatch(/--events.*must be a positive integer/);
      expect(bad.output().stderr).not.toMatch(/\n\s+at /);
    } finally {
      await dropDatabase(url);
    }
  }, 60_000);
});

describe("orion keys generate", () => {
  it("writes key files only their owner can read, in the form the services' *_FILE variables accept", async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), "orion-keys-"));
    try {
      const run = orion(["keys", "generate", "--out", out]);
      expect(await run.exited).toBe(0);
      for (const file of ["identity-private.pem", "identity-public.pem", "auth-signing.pem"]) {
        expect(statSync(path.join(out, file)).mode & 0o077).toBe(0);
      }
      const env = parseEnv(["IDENTITY_PRIVATE_KEY", "IDENTITY_PUBLIC_KEY", "AUTH_SIGNING_KEY"], {
        IDENTITY_PRIVATE_KEY_FILE: path.join(out, "identity-private.pem"),
        IDENTITY_PUBLIC_KEY_FILE: path.join(out, "identity-public.pem"),
        AUTH_SIGNING_KEY_FILE: path.join(out, "auth-signing.pem"),
      });
      expect(env.AUTH_SIGNING_KEY).toBe(readFileSync(path.join(out, "auth-signing.pem"), "utf8").trim());
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("orion keys rotate", () => {
  it("adds a signing key to auth-signing.pem, keeps the newest --keep, and says what to do next", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "orion-rotate-"));
    const file = path.join(dir, "auth-signing.pem");
    try {
      expect(await orion(["keys", "generate", "--out", dir]).exited).toBe(0);
      const [first] = parseSigningKeyBundle(readFileSync(file, "utf8"));

      const once = orion(["keys", "rotate", "--dir", dir]);
      expect(await once.exited).toBe(0);
      const afterOnce = parseSigningKeyBundle(readFileSync(file, "utf8"));
      expect(afterOnce.map((key) => key.kid)).toEqual([first!.kid, expect.any(String)]);
      const second = afterOnce[1]!;
      expect(statSync(file).mode & 0o077).toBe(0);
      const { stdout } = once.output();
      expect(stdout).toContain(`new signing key:  kid ${second.kid}`);
      expect(stdout).toMatch(/restart/i);
      expect(stdout).toContain("previous key keep verifying");
      expect(stdout).toContain(`${ACCESS_TOKEN_TTL_SECONDS / 60} minutes`);
      expect(stdout).toContain(`the next rotation drops kid ${first!.kid}`);
      expect(stdout).not.toContain("PRIVATE KEY");

      // The file still passes configuration as AUTH_SIGNING_KEY_FILE, and the auth subgraph signs with the new key.
      const env = parseEnv(["AUTH_SIGNING_KEY"], { AUTH_SIGNING_KEY_FILE: file });
      const issuer = await TokenIssuer.create({
        signingKey: env.AUTH_SIGNING_KEY,
        issuer: "i",
        audience: "a",
      });
      expect(issuer.kid).toBe(second.kid);
      expect(
        issuer
          .jwks()
          .keys.map((key) => key.kid)
          .sort(),
      ).toEqual([first!.kid, second.kid].sort());

      const twice = orion(["keys", "rotate", "--dir", dir, "--keep", "2"]);
      expect(await twice.exited).toBe(0);
      const afterTwice = parseSigningKeyBundle(readFileSync(file, "utf8"));
      expect(afterTwice.map((key) => key.kid)).toEqual([second.kid, expect.any(String)]);
      expect(twice.output().stdout).toContain(`removed:          kid ${first!.kid}`);
      expect(readdirSync(dir).filter((name) => name.includes("tmp"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("refuses a folder without auth-signing.pem and a --keep below 1, leaving files untouched", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "orion-rotate-"));
    try {
      const missing = orion(["keys", "rotate", "--dir", dir]);
      expect(await missing.exited).toBe(1);
      expect(missing.output().stderr).toContain("keys generate");
      expect(existsSync(path.join(dir, "auth-signing.pem"))).toBe(false);

      expect(await orion(["keys", "generate", "--out", dir]).exited).toBe(0);
      const before = readFileSync(path.join(dir, "auth-signing.pem"), "utf8");
      const bad = orion(["keys", "rotate", "--dir", dir, "--keep", "0"]);
      expect(await bad.exited).toBe(1);
      expect(bad.output().stderr).toContain("--keep");
      expect(readFileSync(path.join(dir, "auth-signing.pem"), "utf8")).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

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

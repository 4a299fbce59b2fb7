import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import pg from "pg";

import { dropDatabase } from "../../platform/database/database";
import { clusterDirectory } from "../../platform/database/embedded-postgres";
import { orion } from "../support/cli";
import { PASSWORD } from "../support/identity";
import { databaseUrl, describeWithServices, runId } from "../support/services";

// The keys and events commands: orion-keys.test.ts and orion-events.test.ts.

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

import { randomUUID } from "node:crypto";
import { mkdtemp, rm, rmdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { UniqueConstraintViolationException } from "@mikro-orm/postgresql";

import { type Database, dropDatabase, openDatabase } from "../../platform/database/database";
import { startEmbeddedPostgres } from "../../platform/database/embedded-postgres";
import { createLogger } from "../../platform/logger";
import { analyticsSubgraph } from "../../subgraphs/analytics";
import { TrackedEvent } from "../../subgraphs/analytics/entities/tracked-event.entity";
import { authSubgraph } from "../../subgraphs/auth";
import { UserAccount } from "../../subgraphs/auth/entities/user-account.entity";
import { databaseUrl, describeWithServices, type RealService, runId } from "../support/services";

// One specification, both PostgreSQL hosts: `orion dev` on the embedded cluster must behave like
// production on a PostgreSQL server, with the real subgraphs' entities and committed migrations.

const logger = createLogger("test", "silent");
const RUN = runId();

// Two real subgraphs in one database: analytics for plain rows, auth for its unique e-mail.
const SUBGRAPHS = [analyticsSubgraph, authSubgraph];
// As the subgraphs build rows: `new` runs the entity's defaults (id, timestamps), then the given fields.
const trackedEvent = (fields: Partial<TrackedEvent> & { name: string }) =>
  Object.assign(new TrackedEvent(), fields);
const account = (email: string) =>
  Object.assign(new UserAccount(), { email, passwordHash: "not-a-real-hash" });

const options = (url: string) => ({
  url,
  entities: SUBGRAPHS.flatMap((s) => s.entities),
  migrations: SUBGRAPHS.flatMap((s) => s.migrations),
  logger,
});

interface PostgresHost {
  /** URL of a database that does not exist yet; openDatabase creates it. */
  url: string;
  stop(): Promise<void>;
}

interface DatabaseAdapter {
  name: string;
  services: readonly RealService[];
  start(): Promise<PostgresHost>;
}

const adapters: DatabaseAdapter[] = [
  {
    name: "embedded PostgreSQL",
    services: [],
    start: async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), "orion-contract-"));
      const cluster = await startEmbeddedPostgres({ dataDir, logger });
      return {
        url: cluster.urlFor("orion_contract"),
        stop: async () => {
          await cluster.stop();
          // As root the cluster lives in a folder of its own outside dataDir (see startEmbeddedPostgres).
          await rm(cluster.dataDir, { recursive: true, force: true });
          await rmdir(path.dirname(cluster.dataDir)).catch(() => undefined); // only when left empty
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "server PostgreSQL",
    services: ["postgres"],
    start: async () => {
      const url = databaseUrl(`orion_test_${RUN}_contract`);
      return { url, stop: () => dropDatabase(url) };
    },
  },
];

for (const adapter of adapters) {
  describeWithServices(adapter.services, adapter.name, () => {
    let host: PostgresHost | undefined;
    let primary: Database | undefined;
    const opened: Database[] = [];

    // Starting a cluster and migrating take seconds: once per host, not per test.
    beforeAll(async () => {
      host = await adapter.start();
      primary = await openDatabase(options(host.url));
      opened.push(primary);
    });
    afterAll(async () => {
      for (const db of opened) await db.close();
      await host?.stop();
    });

    function setup() {
      if (!host || !primary) throw new Error(`${adapter.name} did not start`);
      const url = host.url;
      const db = primary;
      /** Another process opening the same database: a second replica, or the next start. */
      const openAgain = async () => {
        const again = await openDatabase(options(url));
        opened.push(again);
        return again;
      };
      const appliedMigrations = async (on: Database = db) =>
        (
          await on.orm.em
            .getConnection()
            .execute<{ name: string }[]>("select name from mikro_orm_migrations order by id")
        ).map((row) => row.name);
      return { db, em: db.orm.em.fork(), openAgain, appliedMigrations };
    }

    test("opening an empty database applies every migration and creates the subgraphs' tables", async () => {
      const { em, appliedMigrations } = setup();

      const tables = await em
        .getConnection()
        .execute<{ table_name: string }[]>(
          "select table_name from information_schema.tables where table_schema = 'public'",
        );

      expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(["events", "users"]));
      expect((await appliedMigrations()).sort()).toEqual(
        SUBGRAPHS.flatMap((s) => s.migrations.map((m) => m.name)).sort(),
      );
    });

    test("opening the database again applies nothing new and keeps its data", async () => {
      const { em, openAgain, appliedMigrations } = setup();
      const event = trackedEvent({ name: "kept-across-opens", properties: { page: "/" } });
      await em.persist(event).flush();
      const before = await appliedMigrations();

      const again = await openAgain();

      expect(await appliedMigrations(again)).toEqual(before);
      const found = await again.orm.em.fork().findOneOrFail(TrackedEvent, event.id);
      expect(found).toMatchObject({ name: "kept-across-opens", properties: { page: "/" } });
    });

    test("a second account with the same e-mail is refused with UniqueConstraintViolationException", async () => {
      const { db } = setup();
      const email = `${randomUUID()}@example.test`;
      await db.orm.em.fork().persist(account(email)).flush();

      const duplicate = db.orm.em.fork().persist(account(email)).flush();

      await expect(duplicate).rejects.toBeInstanceOf(UniqueConstraintViolationException);
      expect(await db.orm.em.fork().count(UserAccount, { email })).toBe(1);
    });

    test("a transaction that throws leaves nothing behind", async () => {
      const { db, em } = setup();
      const name = `rolled-back-${randomUUID()}`;

      const failed = em.transactional(async (tx) => {
        await tx.persist(trackedEvent({ name })).flush();
        // The row is really written inside the transaction, so a count of 0 afterwards means rollback.
        expect(await tx.count(TrackedEvent, { name })).toBe(1);
        throw new Error("payment declined");
      });

      await expect(failed).rejects.toThrow("payment declined");
      expect(await db.orm.em.fork().count(TrackedEvent, { name })).toBe(0);
    });

    test("one em.find is exactly one query", async () => {
      const { db, em } = setup();
      const userId = randomUUID();
      await em
        .persist(["page-view", "click", "purchase"].map((name) => trackedEvent({ name, userId })))
        .flush();
      const before = db.queryCount();

      const found = await db.orm.em.fork().find(TrackedEvent, { userId });

      expect(found).toHaveLength(3);
      expect(db.queryCount() - before).toBe(1);
    });

    test("ping answers true while the database is open and false once it is closed", async () => {
      const { openAgain } = setup();
      const db = await openAgain();

      expect(await db.ping()).toBe(true);
      await db.close();
      expect(await db.ping()).toBe(false);
    });
  });
}

import { Migrator } from "@mikro-orm/migrations";
import {
  type EntityManager,
  type MigrationObject,
  MikroORM,
  ReflectMetadataProvider,
} from "@mikro-orm/postgresql";
import pg from "pg";

import type { Logger } from "../logger";

export type { EntityManager };

export interface DatabaseOptions {
  url: string;
  entities: Function[];
  migrations: MigrationObject[];
  logger: Logger;
  poolMax?: number;
  /**
   * MikroORM's async-context name. Subgraphs sharing a process (the all-in-one mode, where the
   * in-process bus runs a consumer inside the publisher's transaction) must not share one, or one
   * subgraph's EntityManager would answer for another's.
   */
  contextName?: string;
  /**
   * Longest a statement may run before PostgreSQL cancels it (default 5 s, below the router's
   * subgraph timeout: a slow database fails the request with SERVICE_UNAVAILABLE instead of holding
   * a connection past the point where anyone waits for it). 0: no limit (`orion migrate`).
   */
  statementTimeoutMs?: number;
}

export const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000;
/** Longest wait for a free pooled connection: an exhausted pool sheds instead of queueing for a minute. */
const ACQUIRE_TIMEOUT_MS = 2_000;
/** Longest TCP + start-up handshake with the server. */
const CONNECT_TIMEOUT_MS = 3_000;

export interface Database {
  orm: MikroORM;
  /** SQL statements sent since start: read by the batching tests and the measurement script. */
  queryCount(): number;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Opens a subgraph's database: creates it when the server lacks it, applies the committed
 * migrations (never schema sync), and counts queries so batching can be measured.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  await ensureDatabaseExists(options.url);
  let queries = 0;
  const orm = await MikroORM.init({
    clientUrl: options.url,
    entities: options.entities,
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    migrations: {
      migrationsList: options.migrations,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: options.poolMax ?? 10 },
    driverOptions: {
      // knex reports pool and connection trouble on the console by default, past the JSON log and
      // its serializer: into the service's log instead.
      log: knexLog(options.logger),
      acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
      connection: {
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      },
    },
    allowGlobalContext: false,
    contextName: options.contextName ?? "default",
    ensureDatabase: false,
    // Never on: MikroORM's query log writes each statement with its parameters inlined (passwords'
    // hashes, e-mails, one-time tokens in outbox payloads). Failed statements reach the log as
    // errors, through the logger's serializer, which takes the values out.
    debug: false,
    onQuery: (sql) => {
      queries++;
      return sql;
    },
  });
  try {
    const applied = await orm.migrator.up();
    if (applied.length > 0)
      options.logger.info({ migrations: applied.map((m) => m.name) }, "migrations applied");
  } catch (error) {
    await orm.close(true);
    throw error;
  }
  return {
    orm,
    queryCount: () => queries,
    ping: async () => {
      try {
        await orm.em.getConnection().execute("select 1");
        return true;
      } catch {
        return false;
      }
    },
    close: () => orm.close(true),
  };
}

/** knex's logger hooks (warn, error, deprecate, debug) writing to the service's JSON log. */
function knexLog(logger: Logger) {
  const write = (level: "debug" | "warn" | "error") => (message: unknown) =>
    logger[level]({ error: message }, "database driver");
  return { debug: write("debug"), warn: write("warn"), error: write("error"), deprecate: write("warn") };
}

/** Applies pending migrations and closes: what `orion migrate` and a Kubernetes Job run. */
export async function migrateDatabase(options: DatabaseOptions): Promise<void> {
  // A migration may rewrite a large table: no statement limit here.
  const db = await openDatabase({ ...options, statementTimeoutMs: 0 });
  await db.close();
}

/** CREATE DATABASE when missing, through the server's maintenance database. Safe under races. */
export async function ensureDatabaseExists(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[a-zA-Z_][a-zA-Z0-9_]{0,62}$/.test(name)) throw new Error(`unsupported database name: ${name}`);
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  const client = new pg.Client({ connectionString: maintenance.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) {
      await client.query(`create database "${name}"`).catch((error: { code?: string }) => {
        if (error.code !== "42P04") throw error; // created meanwhile by another process
      });
    }
  } finally {
    await client.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  const client = new pg.Client({ connectionString: maintenance.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}

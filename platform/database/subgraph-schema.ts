import type { MigrationObject } from "@mikro-orm/core";

import { EVENT_TABLE_MIGRATIONS, EVENT_TABLES } from "../events/event-tables";
import { IDEMPOTENCY_MIGRATIONS, IdempotencyRecord } from "../requests/idempotency-table";

interface SchemaParts {
  entities: Function[];
  migrations: MigrationObject[];
}

/** A subgraph's tables: its own entities plus the platform's outbox, inbox and idempotency records. */
export const subgraphEntities = (definition: SchemaParts): Function[] => [
  ...EVENT_TABLES,
  IdempotencyRecord,
  ...definition.entities,
];

/** The platform's migrations first (tables no subgraph migration touches), then the subgraph's own. */
export const subgraphMigrations = (definition: SchemaParts): MigrationObject[] => [
  ...EVENT_TABLE_MIGRATIONS,
  ...IDEMPOTENCY_MIGRATIONS,
  ...definition.migrations,
];

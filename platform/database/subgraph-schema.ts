import type { MigrationObject } from "@mikro-orm/core";
import { EVENT_TABLES, EVENT_TABLE_MIGRATIONS } from "../events/event-tables";

interface SchemaParts {
  entities: Function[];
  migrations: MigrationObject[];
}

/** A subgraph's tables: its own entities plus the platform's outbox and inbox. */
export const subgraphEntities = (definition: SchemaParts): Function[] => [
  ...EVENT_TABLES,
  ...definition.entities,
];

/** The platform's event-table migration first, then the subgraph's own, in order. */
export const subgraphMigrations = (definition: SchemaParts): MigrationObject[] => [
  ...EVENT_TABLE_MIGRATIONS,
  ...definition.migrations,
];

import type { MigrationObject } from "@mikro-orm/core";
import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";

/**
 * One mutation's idempotency record (decision 006), in the database of the subgraph that ran it.
 * The answer is sealed with a key derived from the client's Idempotency-Key, which is never stored:
 * a copy of the table alone reads no token of it.
 */
@Entity({ tableName: "idempotency_records" })
@Index({ name: "idempotency_records_expires_at_index", properties: ["expiresAt"] })
export class IdempotencyRecord {
  /** SHA-256 of the subgraph, the caller and the key. */
  @PrimaryKey({ type: "text" })
  id!: string;

  /** HMAC of the operation and its variables under the key: the same key with other input is refused. */
  @Property({ type: "text" })
  requestHash!: string;

  /** started → committed (its effect's transaction committed) → completed (its answer is sealed here). */
  @Property({ type: "text" })
  state!: "started" | "committed" | "completed";

  @Property({ type: "blob", nullable: true })
  response: Buffer | null = null;

  @Property({ type: "timestamptz" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz" })
  expiresAt!: Date;
}

export class Migration20261208000000Idempotency extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "idempotency_records" (
      "id" text not null,
      "request_hash" text not null,
      "state" text not null,
      "response" bytea null,
      "created_at" timestamptz not null,
      "expires_at" timestamptz not null,
      constraint "idempotency_records_pkey" primary key ("id"));`);
    this.addSql(
      `create index "idempotency_records_expires_at_index" on "idempotency_records" ("expires_at");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "idempotency_records";`);
  }
}

export const IDEMPOTENCY_MIGRATIONS: MigrationObject[] = [
  { name: "Migration20261208000000Idempotency", class: Migration20261208000000Idempotency },
];

import type { MigrationObject } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";

/**
 * `data_keys`, in each subgraph's own database: that subgraph's data keys (purpose `data`) and its
 * blind-index key (purpose `index`), each wrapped by a key-encryption key. One active key per
 * purpose (a partial unique index makes a second one impossible, even from two replicas at once);
 * `decrypt-only` keys still open old values; a `retired` key's material is erased (wrapped_key null).
 * Only data-key-store.ts reads and writes it, in SQL: no entity, nothing for the subgraphs' ORM to load.
 */
export class Migration20261208100000DataKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "data_keys" (
      "id" text not null,
      "purpose" text not null check ("purpose" in ('data', 'index')),
      "state" text not null check ("state" in ('active', 'decrypt-only', 'retired')),
      "kek_id" text not null,
      "wrapped_key" bytea null check (("state" = 'retired') = ("wrapped_key" is null)),
      "created_at" timestamptz not null default now(),
      "retired_at" timestamptz null,
      constraint "data_keys_pkey" primary key ("id"));`);
    this.addSql(
      `create unique index "data_keys_one_active_per_purpose" on "data_keys" ("purpose") where "state" = 'active';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "data_keys";`);
  }
}

export const DATA_KEY_MIGRATIONS: MigrationObject[] = [
  { name: "Migration20261208100000DataKeys", class: Migration20261208100000DataKeys },
];

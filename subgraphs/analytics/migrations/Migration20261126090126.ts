import { Migration } from "@mikro-orm/migrations";

export class Migration20261126090126 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "events" ("id" uuid not null, "user_id" uuid null, "name" text not null, "properties" jsonb not null, "occurred_at" timestamptz not null, "received_at" timestamptz not null, "source_event_id" uuid null, constraint "events_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "events" add constraint "events_source_event_id_unique" unique ("source_event_id");`,
    );
    this.addSql(`create index "events_name_occurred_at_index" on "events" ("name", "occurred_at");`);
    this.addSql(`create index "events_user_id_occurred_at_index" on "events" ("user_id", "occurred_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "events" cascade;`);
  }
}

import { Migration } from "@mikro-orm/migrations";

export class Migration20261126115637 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "notification_preferences" ("user_id" uuid not null, "channel" "notification_channel" not null, "enabled" boolean not null, "updated_at" timestamptz not null, constraint "notification_preferences_pkey" primary key ("user_id", "channel"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "notification_preferences" cascade;`);
  }
}

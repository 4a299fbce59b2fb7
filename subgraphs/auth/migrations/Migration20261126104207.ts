import { Migration } from "@mikro-orm/migrations";

export class Migration20261126104207 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "known_devices" ("user_id" uuid not null, "fingerprint" text not null, "first_seen_at" timestamptz not null, constraint "known_devices_pkey" primary key ("user_id", "fingerprint"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "known_devices" cascade;`);
  }
}

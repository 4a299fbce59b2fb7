import { Migration } from "@mikro-orm/migrations";

export class Migration20261126133253 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "marketing_consents" ("user_id" uuid not null, "opted_in" boolean not null, "changed_at" timestamptz not null, constraint "marketing_consents_pkey" primary key ("user_id"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "marketing_consents" cascade;`);
  }
}

import { Migration } from "@mikro-orm/migrations";

export class Migration20261126104044 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "recipients" ("user_id" uuid not null, "email" text not null, "display_name" text not null, "locale" text not null default 'en', "timezone" text not null default 'UTC', "updated_at" timestamptz not null, constraint "recipients_pkey" primary key ("user_id"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "recipients" cascade;`);
  }
}

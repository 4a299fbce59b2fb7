import { Migration } from "@mikro-orm/migrations";

export class Migration20261126111216 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "pending_mails" ("notification_id" uuid not null, "to" text not null, "subject" text not null, "text" text not null, "html" text not null, constraint "pending_mails_pkey" primary key ("notification_id"));`,
    );

    this.addSql(
      `alter table "notifications" add column "attempts" int not null default 0, add column "next_attempt_at" timestamptz null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "pending_mails" cascade;`);

    this.addSql(`alter table "notifications" drop column "attempts", drop column "next_attempt_at";`);
  }
}

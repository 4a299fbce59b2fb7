import { Migration } from "@mikro-orm/migrations";

export class Migration20261126090040 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "notification_channel" as enum ('EMAIL', 'SMS', 'PUSH', 'IN_APP');`);
    this.addSql(`create type "delivery_status" as enum ('PENDING', 'SENT', 'DELIVERED', 'FAILED');`);
    this.addSql(
      `create table "notifications" ("id" uuid not null, "user_id" uuid not null, "channel" "notification_channel" not null, "kind" text not null, "title" text not null, "body" text not null, "status" "delivery_status" not null default 'PENDING', "last_error" text null, "source_event_id" uuid null, "created_at" timestamptz not null, "read_at" timestamptz null, constraint "notifications_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "notifications_user_id_created_at_id_index" on "notifications" ("user_id", "created_at", "id");`,
    );
    this.addSql(
      `alter table "notifications" add constraint "notifications_source_event_id_channel_unique" unique ("source_event_id", "channel");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "notifications" cascade;`);

    this.addSql(`drop type "notification_channel";`);
    this.addSql(`drop type "delivery_status";`);
  }
}

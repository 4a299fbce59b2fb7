import { Migration } from "@mikro-orm/migrations";

export class Migration20261126115602 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "event_counts_hourly" ("bucket" timestamptz not null, "name" text not null, "count" bigint not null, constraint "event_counts_hourly_pkey" primary key ("bucket", "name"));`,
    );
    this.addSql(
      `create index "event_counts_hourly_name_bucket_index" on "event_counts_hourly" ("name", "bucket");`,
    );

    this.addSql(
      `create table "user_activity_daily" ("day" date not null, "user_id" uuid not null, constraint "user_activity_daily_pkey" primary key ("day", "user_id"));`,
    );
    this.addSql(`create index "user_activity_daily_user_id_index" on "user_activity_daily" ("user_id");`);

    // Events recorded before the rollups existed.
    this.addSql(
      `insert into "event_counts_hourly" ("bucket", "name", "count") select date_trunc('hour', "occurred_at", 'UTC'), "name", count(*) from "events" group by 1, 2;`,
    );
    this.addSql(
      `insert into "user_activity_daily" ("day", "user_id") select distinct ("occurred_at" at time zone 'UTC')::date, "user_id" from "events" where "user_id" is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "event_counts_hourly" cascade;`);

    this.addSql(`drop table if exists "user_activity_daily" cascade;`);
  }
}

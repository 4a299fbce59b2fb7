import { Migration } from "@mikro-orm/migrations";

export class Migration20261126133255 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "daily_active_users" ("day" date not null, "count" int not null, constraint "daily_active_users_pkey" primary key ("day"));`,
    );

    this.addSql(
      `create table "user_activity_days" ("user_id" uuid not null, "year" smallint not null, "days" bit(366) not null, "fresh" bit(366) not null, constraint "user_activity_days_pkey" primary key ("user_id", "year"));`,
    );

    this.addSql(
      `create table "user_totals" ("user_id" uuid not null, "event_count" bigint not null, "last_seen_at" timestamptz not null, "registered_at" timestamptz null, constraint "user_totals_pkey" primary key ("user_id"));`,
    );
    this.addSql(`create index "user_totals_registered_at_index" on "user_totals" ("registered_at");`);

    // Rollups of the events recorded before them (registration time: the user's registration event).
    this.addSql(
      `insert into "user_activity_days" ("user_id", "year", "days", "fresh")
       select "user_id", extract(year from "day")::smallint,
              bit_or(set_bit(repeat('0', 366)::bit(366), extract(doy from "day")::int - 1, 1)), repeat('0', 366)::bit(366)
       from "user_activity_daily" group by 1, 2;`,
    );
    this.addSql(
      `insert into "daily_active_users" ("day", "count") select "day", count(*) from "user_activity_daily" group by 1;`,
    );
    this.addSql(
      `insert into "user_totals" ("user_id", "event_count", "last_seen_at", "registered_at")
       select "user_id", count(*), max("occurred_at"), min("occurred_at") filter (where "name" = 'user.registered')
       from "events" where "user_id" is not null group by 1;`,
    );
    this.addSql(`drop table if exists "user_activity_daily" cascade;`);

    this.addSql(`drop index "events_name_occurred_at_index";`);

    this.addSql(`create index "events_occurred_at_index" on "events" ("occurred_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(
      `create table "user_activity_daily" ("day" date not null, "user_id" uuid not null, constraint "user_activity_daily_pkey" primary key ("day", "user_id"));`,
    );
    this.addSql(`create index "user_activity_daily_user_id_index" on "user_activity_daily" ("user_id");`);

    this.addSql(`drop table if exists "daily_active_users" cascade;`);

    this.addSql(`drop table if exists "user_activity_days" cascade;`);

    this.addSql(`drop table if exists "user_totals" cascade;`);

    this.addSql(`drop index "events_occurred_at_index";`);

    this.addSql(`create index "events_name_occurred_at_index" on "events" ("name", "occurred_at");`);
  }
}

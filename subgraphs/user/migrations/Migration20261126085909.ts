import { Migration } from "@mikro-orm/migrations";

export class Migration20261126085909 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "theme" as enum ('SYSTEM', 'LIGHT', 'DARK');`);
    this.addSql(
      `create table "profiles" ("user_id" uuid not null, "display_name" text not null, "bio" text null, "avatar_url" text null, "locale" text not null default 'en', "timezone" text not null default 'UTC', "theme" "theme" not null default 'SYSTEM', "language" text not null default 'en', "marketing_opt_in" boolean not null default false, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "profiles_pkey" primary key ("user_id"));`,
    );
    this.addSql(`create index "profiles_display_name_index" on "profiles" ("display_name");`);
    this.addSql(`create index "profiles_created_at_index" on "profiles" ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "profiles" cascade;`);

    this.addSql(`drop type "theme";`);
  }
}

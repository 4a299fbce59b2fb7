import { Migration } from "@mikro-orm/migrations";

export class Migration20261126104115 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "account_erasures" ("user_id" uuid not null, "requested_at" timestamptz not null, constraint "account_erasures_pkey" primary key ("user_id"));`,
    );

    this.addSql(
      `create table "account_erasure_steps" ("user_id" uuid not null, "subgraph" text not null, "erased_records" int not null, "completed_at" timestamptz not null, constraint "account_erasure_steps_pkey" primary key ("user_id", "subgraph"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "account_erasures" cascade;`);

    this.addSql(`drop table if exists "account_erasure_steps" cascade;`);
  }
}

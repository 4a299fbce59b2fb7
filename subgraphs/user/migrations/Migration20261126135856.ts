import { Migration } from "@mikro-orm/migrations";

export class Migration20261126135856 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "profiles" add column "profile_revision" int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "profiles" drop column "profile_revision";`);
  }
}

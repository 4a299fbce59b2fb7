import { Migration } from "@mikro-orm/migrations";

export class Migration20261126135857 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "recipients" add column "profile_revision" int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "recipients" drop column "profile_revision";`);
  }
}

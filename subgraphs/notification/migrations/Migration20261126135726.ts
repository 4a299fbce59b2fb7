import { Migration } from "@mikro-orm/migrations";

export class Migration20261126135726 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "marketing_consents" add column "revision" int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "marketing_consents" drop column "revision";`);
  }
}

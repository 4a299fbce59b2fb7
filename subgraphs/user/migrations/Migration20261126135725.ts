import { Migration } from "@mikro-orm/migrations";

export class Migration20261126135725 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "profiles" add column "marketing_consent_revision" int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "profiles" drop column "marketing_consent_revision";`);
  }
}

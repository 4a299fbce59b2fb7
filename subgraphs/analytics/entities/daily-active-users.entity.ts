import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

// A rollup every insight reads (services/rollups.ts keeps it in the transaction that records the
// events). It is written and read in SQL; the entity gives the schema to migrations.

/** Distinct active users per UTC day: the daily active users series. Erased accounts are taken back. */
@Entity({ tableName: "daily_active_users" })
export class DailyActiveUsers {
  @PrimaryKey({ type: "date" })
  day!: string;

  @Property({ type: "integer" })
  count!: number;
}

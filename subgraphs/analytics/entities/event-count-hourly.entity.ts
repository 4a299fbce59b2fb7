import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";

// A rollup every insight reads (services/rollups.ts keeps it in the transaction that records the
// events). It is written and read in SQL; the entity gives the schema to migrations.

/**
 * Events per name and UTC hour. Carries no user id, so it stays aggregated when an account is
 * erased; only registrations are taken back, because "total users" counts accounts that still exist.
 */
@Entity({ tableName: "event_counts_hourly" })
@Index({ properties: ["name", "bucket"] })
export class EventCountHourly {
  @PrimaryKey({ type: "timestamptz" })
  bucket!: Date;

  @PrimaryKey({ type: "text" })
  name!: string;

  @Property({ type: "bigint" })
  count!: string;
}

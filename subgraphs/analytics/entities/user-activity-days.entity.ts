import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

// A rollup every insight reads (services/rollups.ts keeps it in the transaction that records the
// events). It is written and read in SQL; the entity gives the schema to migrations.

/**
 * One row per user and UTC year: bit n of `days` is set when the user had an event on day n of
 * that year (January 1st is bit 0). "Distinct users active in a range" is then one pass over
 * users × years, whatever the range's length. `fresh` holds the bits the last write set for the
 * first time: it is how that write learns which user-days are new (see recordActivity).
 */
@Entity({ tableName: "user_activity_days" })
export class UserActivityDays {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @PrimaryKey({ type: "smallint" })
  year!: number;

  @Property({ columnType: "bit(366)" })
  days!: string;

  @Property({ columnType: "bit(366)" })
  fresh!: string;
}

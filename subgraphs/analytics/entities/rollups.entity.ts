import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";

// The rollups every insight reads (services/rollups.ts keeps them in the transaction that records
// the events). They are written and read in SQL; the entities give the schema to migrations.

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

/** Distinct active users per UTC day: the daily active users series. Erased accounts are taken back. */
@Entity({ tableName: "daily_active_users" })
export class DailyActiveUsers {
  @PrimaryKey({ type: "date" })
  day!: string;

  @Property({ type: "integer" })
  count!: number;
}

/**
 * Per user: events counted, last seen, and when they registered (the retention cohort). Survives
 * the raw events' retention; erased with the account.
 */
@Entity({ tableName: "user_totals" })
export class UserTotals {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @Property({ type: "bigint" })
  eventCount!: string;

  @Property({ type: "timestamptz" })
  lastSeenAt!: Date;

  @Property({ type: "timestamptz", nullable: true })
  @Index()
  registeredAt: Date | null = null;
}

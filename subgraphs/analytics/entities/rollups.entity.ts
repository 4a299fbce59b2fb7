import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * Events per name and UTC hour, kept up to date in the transaction that records each event (see
 * services/rollups.ts). Carries no user id, so it stays aggregated when an account is erased; only
 * registrations are taken back, because "total users" counts accounts that still exist.
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

/** One row per user and UTC day with any event: daily and range active users. Erased with the account. */
@Entity({ tableName: "user_activity_daily" })
@Index({ properties: ["userId"] })
export class UserActivityDaily {
  @PrimaryKey({ type: "date" })
  day!: string;

  @PrimaryKey({ type: "uuid" })
  userId!: string;
}

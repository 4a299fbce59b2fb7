import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";

// A rollup every insight reads (services/rollups.ts keeps it in the transaction that records the
// events). It is written and read in SQL; the entity gives the schema to migrations.

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

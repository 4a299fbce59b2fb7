import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * The user subgraph's `marketingOptIn`, copied here by `user.marketing-consent.changed`. No row
 * means no consent. `changedAt` is the producer's time of the choice: only a newer one replaces it.
 */
@Entity({ tableName: "marketing_consents" })
export class MarketingConsent {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @Property({ type: "boolean" })
  optedIn!: boolean;

  @Property({ type: "timestamptz" })
  changedAt!: Date;
}

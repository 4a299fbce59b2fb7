import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * The user subgraph's `marketingOptIn`, copied here by `user.marketing-consent.changed`. No row
 * means no consent. Only a higher `revision` replaces a stored choice.
 */
@Entity({ tableName: "marketing_consents" })
export class MarketingConsent {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @Property({ type: "boolean" })
  optedIn!: boolean;

  @Property({ type: "timestamptz" })
  changedAt!: Date;

  @Property({ type: "integer", default: 0 })
  revision: number = 0;
}

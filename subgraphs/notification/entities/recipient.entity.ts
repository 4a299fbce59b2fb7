import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * This subgraph's own copy of who a user is for messaging: filled and kept current by events
 * (registration, profile changes), erased with the account. Never read from another database.
 */
@Entity({ tableName: "recipients" })
export class Recipient {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @Property({ type: "text" })
  email!: string;

  @Property({ type: "text" })
  displayName!: string;

  @Property({ type: "text" })
  locale: string = "en";

  @Property({ type: "text" })
  timezone: string = "UTC";

  @Property({ type: "timestamptz" })
  updatedAt: Date = new Date();

  /** The `revision` of the last profile snapshot applied (0: the registration's data). */
  @Property({ type: "integer", default: 0 })
  profileRevision: number = 0;
}

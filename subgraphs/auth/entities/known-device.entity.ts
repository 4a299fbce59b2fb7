import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/** A browser or app a user has signed in from (by user agent), so a new one can be reported to them. */
@Entity({ tableName: "known_devices" })
export class KnownDevice {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  /** SHA-256 of the user agent: recognisable, not stored in the clear twice. */
  @PrimaryKey({ type: "text" })
  fingerprint!: string;

  @Property({ type: "timestamptz" })
  firstSeenAt: Date = new Date();
}

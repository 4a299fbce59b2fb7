import { Entity, Enum, Index, PrimaryKey, Property } from "@mikro-orm/core";

export enum Theme {
  SYSTEM = "SYSTEM",
  LIGHT = "LIGHT",
  DARK = "DARK",
}

/** A user's profile and preferences: one row per user, so `User.profile` and `User.preferences` cost one read. */
@Entity({ tableName: "profiles" })
export class UserProfile {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @Property({ type: "text" })
  @Index()
  displayName!: string;

  @Property({ type: "text", nullable: true })
  bio: string | null = null;

  @Property({ type: "text", nullable: true })
  avatarUrl: string | null = null;

  @Property({ type: "text" })
  locale: string = "en";

  @Property({ type: "text" })
  timezone: string = "UTC";

  @Enum({ items: () => Theme, nativeEnumName: "theme" })
  theme: Theme = Theme.SYSTEM;

  @Property({ type: "text" })
  language: string = "en";

  @Property({ type: "boolean" })
  marketingOptIn: boolean = false;

  /** Counts profile changes (`user.profile.updated` carries it): copies keep the highest. */
  @Property({ type: "integer", default: 0 })
  profileRevision: number = 0;

  /** Counts consent changes: copies elsewhere keep the highest, whatever order events arrive in. */
  @Property({ type: "integer", default: 0 })
  marketingConsentRevision: number = 0;

  @Property({ type: "timestamptz" })
  @Index()
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}

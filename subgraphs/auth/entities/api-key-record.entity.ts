import { randomUUID } from "node:crypto";

import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";

/** An API key: the secret is shown once at creation; only its SHA-256 and a short public prefix are kept. */
@Entity({ tableName: "api_keys" })
@Index({ properties: ["userId", "createdAt"] })
export class ApiKeyRecord {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "uuid" })
  userId!: string;

  @Property({ type: "text" })
  name!: string;

  /** The first characters of the secret, so a user can tell keys apart without the secret. */
  @Property({ type: "text" })
  prefix!: string;

  @Property({ type: "text", unique: true, hidden: true })
  secretHash!: string;

  @Property({ type: "text[]" })
  scopes: string[] = [];

  @Property({ type: "timestamptz" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: "timestamptz", nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: "timestamptz", nullable: true })
  revokedAt: Date | null = null;
}

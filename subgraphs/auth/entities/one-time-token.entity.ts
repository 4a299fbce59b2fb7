import { randomUUID } from "node:crypto";

import { Entity, Enum, Index, PrimaryKey, Property } from "@mikro-orm/core";

export enum TokenPurpose {
  PASSWORD_RESET = "PASSWORD_RESET",
  EMAIL_VERIFICATION = "EMAIL_VERIFICATION",
}

/** A password-reset or e-mail-verification token: random, stored hashed, single use, expiring. */
@Entity({ tableName: "one_time_tokens" })
@Index({ properties: ["userId", "purpose"] })
export class OneTimeToken {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "uuid" })
  userId!: string;

  @Enum({ items: () => TokenPurpose, type: "text" })
  purpose!: TokenPurpose;

  @Property({ type: "text", unique: true, hidden: true })
  tokenHash!: string;

  @Property({ type: "timestamptz" })
  expiresAt!: Date;

  @Property({ type: "timestamptz", nullable: true })
  usedAt: Date | null = null;

  @Property({ type: "timestamptz" })
  createdAt: Date = new Date();
}

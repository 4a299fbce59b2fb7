import { randomUUID } from "node:crypto";

import { Entity, Enum, Index, PrimaryKey, Property } from "@mikro-orm/core";

export enum AuditEventType {
  LOGIN_SUCCEEDED = "LOGIN_SUCCEEDED",
  LOGIN_FAILED = "LOGIN_FAILED",
  LOGIN_BLOCKED = "LOGIN_BLOCKED",
  REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED",
  SESSION_REVOKED = "SESSION_REVOKED",
  LOGGED_OUT_EVERYWHERE = "LOGGED_OUT_EVERYWHERE",
  PASSWORD_CHANGED = "PASSWORD_CHANGED",
  PASSWORD_RESET_REQUESTED = "PASSWORD_RESET_REQUESTED",
  PASSWORD_RESET = "PASSWORD_RESET",
  EMAIL_VERIFIED = "EMAIL_VERIFIED",
  ROLES_CHANGED = "ROLES_CHANGED",
  API_KEY_CREATED = "API_KEY_CREATED",
  API_KEY_REVOKED = "API_KEY_REVOKED",
  ACCOUNT_DELETED = "ACCOUNT_DELETED",
  USER_REGISTERED = "USER_REGISTERED",
}

/**
 * One security-relevant fact: who did it (actor), to whom (user), from where, under which request.
 * Kept when the account is deleted (the user id stays, the e-mail never was here).
 */
@Entity({ tableName: "audit_events" })
@Index({ properties: ["createdAt", "id"] })
@Index({ properties: ["userId", "createdAt"] })
export class AuditEvent {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Enum({ items: () => AuditEventType, type: "text" })
  type!: AuditEventType;

  /** The account concerned; null when a failed login named an unknown address. */
  @Property({ type: "uuid", nullable: true })
  userId: string | null = null;

  /** Who acted: the user, an ADMIN, or null (anonymous, e.g. a failed login). */
  @Property({ type: "uuid", nullable: true })
  actorId: string | null = null;

  @Property({ type: "text", nullable: true })
  ipAddress: string | null = null;

  @Property({ type: "text", nullable: true })
  userAgent: string | null = null;

  @Property({ type: "text", nullable: true })
  correlationId: string | null = null;

  @Property({ type: "jsonb" })
  details: Record<string, unknown> = {};

  @Property({ type: "timestamptz" })
  createdAt: Date = new Date();
}

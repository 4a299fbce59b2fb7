import { randomUUID } from "node:crypto";

import { Entity, Enum, Index, PrimaryKey, Property, Unique } from "@mikro-orm/core";

export enum NotificationChannel {
  EMAIL = "EMAIL",
  SMS = "SMS",
  PUSH = "PUSH",
  IN_APP = "IN_APP",
}

export enum DeliveryStatus {
  PENDING = "PENDING",
  SENT = "SENT",
  DELIVERED = "DELIVERED",
  FAILED = "FAILED",
}

/** One message to one user on one channel. (sourceEventId, channel) is unique: a redelivered event adds nothing. */
@Entity({ tableName: "notifications" })
@Index({ properties: ["userId", "createdAt", "id"] })
@Unique({ properties: ["sourceEventId", "channel"] })
export class Notification {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "uuid" })
  userId!: string;

  @Enum({ items: () => NotificationChannel, nativeEnumName: "notification_channel" })
  channel!: NotificationChannel;

  @Property({ type: "text" })
  kind!: string;

  @Property({ type: "text" })
  title!: string;

  @Property({ type: "text" })
  body!: string;

  @Enum({ items: () => DeliveryStatus, nativeEnumName: "delivery_status" })
  status: DeliveryStatus = DeliveryStatus.PENDING;

  @Property({ type: "text", nullable: true })
  lastError: string | null = null;

  /** Send attempts so far (e-mail); retried with backoff until the dispatcher gives up. */
  @Property({ type: "integer", default: 0 })
  attempts: number = 0;

  @Property({ type: "timestamptz", nullable: true })
  nextAttemptAt: Date | null = null;

  @Property({ type: "uuid", nullable: true })
  sourceEventId: string | null = null;

  @Property({ type: "timestamptz" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", nullable: true })
  readAt: Date | null = null;
}

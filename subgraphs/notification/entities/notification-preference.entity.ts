import { Entity, Enum, PrimaryKey, Property } from "@mikro-orm/core";

import { NotificationChannel } from "./notification.entity";

/**
 * One user's choice for one channel. No row means the default: every channel is enabled, so only
 * the channels a user switched (on or off) are stored.
 */
@Entity({ tableName: "notification_preferences" })
export class NotificationPreference {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @Enum({ items: () => NotificationChannel, nativeEnumName: "notification_channel", primary: true })
  channel!: NotificationChannel;

  @Property({ type: "boolean" })
  enabled!: boolean;

  @Property({ type: "timestamptz" })
  updatedAt: Date = new Date();
}

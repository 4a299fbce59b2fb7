import { randomUUID } from "node:crypto";

import { Entity, Index, PrimaryKey, Property, Unique } from "@mikro-orm/core";

/** One usage event: tracked by a client or recorded from a domain event (then keyed by that event's id). */
@Entity({ tableName: "events" })
@Index({ properties: ["userId", "occurredAt"] })
// Retention deletes by age; insights never read raw events (they read the rollups).
@Index({ properties: ["occurredAt"] })
export class TrackedEvent {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "uuid", nullable: true })
  userId: string | null = null;

  @Property({ type: "text" })
  name!: string;

  @Property({ type: "jsonb" })
  properties: Record<string, unknown> = {};

  @Property({ type: "timestamptz" })
  occurredAt: Date = new Date();

  @Property({ type: "timestamptz" })
  receivedAt: Date = new Date();

  @Property({ type: "uuid", nullable: true })
  @Unique()
  sourceEventId: string | null = null;
}

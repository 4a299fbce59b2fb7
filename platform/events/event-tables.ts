import type { MigrationObject } from "@mikro-orm/core";
import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";

/**
 * The transactional outbox: an event row written in the same transaction as the change it
 * describes. The relay publishes it and marks it sent only after the broker confirmed it.
 */
@Entity({ tableName: "outbox_events" })
@Index({
  name: "outbox_events_pending_index",
  expression:
    'create index "outbox_events_pending_index" on "outbox_events" ("position") where "published_at" is null',
})
@Index({
  name: "outbox_events_published_at_index",
  expression:
    'create index "outbox_events_published_at_index" on "outbox_events" ("published_at") where "published_at" is not null',
})
export class OutboxEvent {
  /** The envelope id: the AMQP messageId and the consumers' deduplication key. */
  @PrimaryKey({ type: "uuid" })
  id!: string;

  @Property({ type: "text" })
  type!: string;

  @Property({ type: "integer" })
  version!: number;

  @Property({ type: "timestamptz" })
  occurredAt!: Date;

  @Property({ type: "text" })
  correlationId!: string;

  @Property({ type: "text" })
  producer!: string;

  @Property({ type: "jsonb" })
  payload!: unknown;

  /** Publishing order: a sequence, so rows are relayed in the order they were written. */
  @Property({ type: "bigint", columnType: "bigserial", autoincrement: true, nullable: false })
  position?: string;

  @Property({ type: "timestamptz", nullable: true })
  publishedAt: Date | null = null;

  @Property({ type: "integer" })
  attempts: number = 0;

  @Property({ type: "text", nullable: true })
  lastError: string | null = null;

  /** After a failed publish (e.g. no queue bound yet), the row waits until then. */
  @Property({ type: "timestamptz", nullable: true })
  nextAttemptAt: Date | null = null;

  /** W3C `traceparent` of the request or handler that staged the event: its consumers continue that trace. */
  @Property({ type: "text", nullable: true })
  traceparent: string | null = null;
}

/** The inbox: the events a queue of this subgraph has already handled, in the effect's transaction. */
@Entity({ tableName: "inbox_events" })
@Index({ name: "inbox_events_processed_at_index", properties: ["processedAt"] })
export class InboxEvent {
  @PrimaryKey({ type: "text" })
  queue!: string;

  @PrimaryKey({ type: "uuid" })
  eventId!: string;

  @Property({ type: "text" })
  type!: string;

  @Property({ type: "timestamptz" })
  processedAt: Date = new Date();
}

export const OUTBOX_CHANNEL = "orion_outbox";

/**
 * Every subgraph gets both tables (each one publishes and consumes). A commit that inserted outbox
 * rows NOTIFYs the relay, so an event leaves within milliseconds; polling is only the fallback.
 */
export class Migration20261126000000Events extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "outbox_events" (
      "position" bigserial not null,
      "id" uuid not null,
      "type" text not null,
      "version" integer not null,
      "occurred_at" timestamptz not null,
      "correlation_id" text not null,
      "producer" text not null,
      "payload" jsonb not null,
      "published_at" timestamptz null,
      "attempts" integer not null default 0,
      "last_error" text null,
      constraint "outbox_events_pkey" primary key ("id"));`);
    this.addSql(
      `create index "outbox_events_pending_index" on "outbox_events" ("position") where "published_at" is null;`,
    );
    this.addSql(
      `create index "outbox_events_published_at_index" on "outbox_events" ("published_at") where "published_at" is not null;`,
    );
    this.addSql(`create function "outbox_events_notify"() returns trigger language plpgsql as $$
      begin perform pg_notify('${OUTBOX_CHANNEL}', ''); return null; end $$;`);
    this.addSql(`create trigger "outbox_events_notify" after insert on "outbox_events"
      for each statement execute function "outbox_events_notify"();`);
    this.addSql(`create table "inbox_events" (
      "queue" text not null,
      "event_id" uuid not null,
      "type" text not null,
      "processed_at" timestamptz not null,
      constraint "inbox_events_pkey" primary key ("queue", "event_id"));`);
    this.addSql(`create index "inbox_events_processed_at_index" on "inbox_events" ("processed_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "inbox_events";`);
    this.addSql(`drop trigger if exists "outbox_events_notify" on "outbox_events";`);
    this.addSql(`drop function if exists "outbox_events_notify"();`);
    this.addSql(`drop table if exists "outbox_events";`);
  }
}

/** A row that failed to publish is retried on its own schedule, without holding up the others. */
export class Migration20261126000001OutboxRetry extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "outbox_events" add column "next_attempt_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "outbox_events" drop column "next_attempt_at";`);
  }
}

/**
 * Users whose data this subgraph erased. A late event about them (a retried registration, a
 * message of another queue) finds the mark and writes nothing, so erased data never comes back.
 */
@Entity({ tableName: "erased_users" })
export class ErasedUser {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @Property({ type: "timestamptz" })
  erasedAt: Date = new Date();
}

export class Migration20261126000002ErasedUsers extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "erased_users" ("user_id" uuid not null, "erased_at" timestamptz not null, constraint "erased_users_pkey" primary key ("user_id"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "erased_users";`);
  }
}

/** Events carry the trace of the change that produced them. */
export class Migration20261126000003OutboxTrace extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "outbox_events" add column "traceparent" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "outbox_events" drop column "traceparent";`);
  }
}

export const EVENT_TABLES = [OutboxEvent, InboxEvent, ErasedUser];
/** Applied before a subgraph's own migrations (it only adds tables no subgraph migration touches). */
export const EVENT_TABLE_MIGRATIONS: MigrationObject[] = [
  { name: "Migration20261126000000Events", class: Migration20261126000000Events },
  { name: "Migration20261126000001OutboxRetry", class: Migration20261126000001OutboxRetry },
  { name: "Migration20261126000002ErasedUsers", class: Migration20261126000002ErasedUsers },
  { name: "Migration20261126000003OutboxTrace", class: Migration20261126000003OutboxTrace },
];

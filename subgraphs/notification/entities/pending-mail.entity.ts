import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * The rendered e-mail of a PENDING delivery, kept only until it is sent or given up on: it may
 * carry a one-time link, so it is deleted then (the delivery record keeps title and body only).
 */
@Entity({ tableName: "pending_mails" })
export class PendingMail {
  @PrimaryKey({ type: "uuid" })
  notificationId!: string;

  @Property({ type: "text" })
  to!: string;

  @Property({ type: "text" })
  subject!: string;

  @Property({ type: "text" })
  text!: string;

  @Property({ type: "text" })
  html!: string;
}

import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";

import { PageInfo } from "../../../platform/graphql/page-info.type";
import { DeliveryStatus, NotificationChannel } from "../entities/notification.entity";

registerEnumType(NotificationChannel, {
  name: "NotificationChannel",
  description: "How a message reaches a user",
});
registerEnumType(DeliveryStatus, {
  name: "DeliveryStatus",
  description: "Where a message is on its way out: IN_APP messages are DELIVERED at once",
});

@ObjectType("Notification", { description: "A message to one user on one channel" })
export class NotificationType {
  @Field(() => ID, { description: "Identifies the notification for markNotificationRead" })
  id!: string;

  @Field(() => NotificationChannel, { description: "The channel it was sent on" })
  channel!: NotificationChannel;

  @Field({ description: "What the message is about, e.g. verify-email, admin-message, marketing" })
  kind!: string;

  @Field({ description: "The subject line" })
  title!: string;

  @Field({ description: "The message text" })
  body!: string;

  @Field(() => DeliveryStatus, { description: "How far delivery got" })
  status!: DeliveryStatus;

  @Field({ description: "When the notification was created" })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: "When the user marked it read; null: unread" })
  readAt!: Date | null;
}

@ObjectType({ description: "A notification in a page of a user's notifications" })
export class NotificationEdge {
  @Field({ description: "Pass as `after` to continue after this notification" })
  cursor!: string;

  @Field(() => NotificationType, { description: "The notification" })
  node!: NotificationType;
}

@ObjectType({ description: "A page of a user's notifications, newest first" })
export class NotificationConnection {
  @Field(() => [NotificationEdge], { description: "The notifications of this page" })
  edges!: NotificationEdge[];

  @Field(() => PageInfo, { description: "Whether more pages follow and where this one ends" })
  pageInfo!: PageInfo;

  @Field(() => Int, { description: "How many notifications match, across all pages" })
  totalCount!: number;
}

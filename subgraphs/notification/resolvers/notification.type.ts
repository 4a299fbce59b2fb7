import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { PageInfo } from "../../../platform/graphql/page-info.type";
import { DeliveryStatus, NotificationChannel } from "../entities/notification.entity";

registerEnumType(NotificationChannel, { name: "NotificationChannel" });
registerEnumType(DeliveryStatus, { name: "DeliveryStatus" });

@ObjectType("Notification")
export class NotificationType {
  @Field(() => ID)
  id!: string;

  @Field(() => NotificationChannel)
  channel!: NotificationChannel;

  @Field()
  kind!: string;

  @Field()
  title!: string;

  @Field()
  body!: string;

  @Field(() => DeliveryStatus)
  status!: DeliveryStatus;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  readAt!: Date | null;
}

@ObjectType()
export class NotificationEdge {
  @Field()
  cursor!: string;

  @Field(() => NotificationType)
  node!: NotificationType;
}

@ObjectType()
export class NotificationConnection {
  @Field(() => [NotificationEdge])
  edges!: NotificationEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

import { Field, Int, ObjectType } from "type-graphql";

@ObjectType()
export class UserActivity {
  @Field(() => Int)
  eventCount!: number;

  @Field(() => Date, { nullable: true })
  lastSeenAt!: Date | null;
}

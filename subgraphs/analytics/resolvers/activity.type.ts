import { Field, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "What analytics knows of one user's activity" })
export class UserActivity {
  @Field(() => Int, { description: "Events recorded for the user, all time" })
  eventCount!: number;

  @Field(() => Date, { nullable: true, description: "When the user's latest event occurred; null: none yet" })
  lastSeenAt!: Date | null;
}

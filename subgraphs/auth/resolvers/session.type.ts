import { Field, ID, ObjectType } from "type-graphql";

@ObjectType()
export class Session {
  @Field(() => ID)
  id!: string;

  @Field()
  createdAt!: Date;

  @Field()
  lastUsedAt!: Date;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  ipAddress!: string | null;

  @Field({ description: "True for the session this request was made with" })
  current!: boolean;
}

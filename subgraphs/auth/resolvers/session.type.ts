import { Field, ID, ObjectType } from "type-graphql";

@ObjectType({ description: "A signed-in device or client: one login, renewed by its refresh tokens" })
export class Session {
  @Field(() => ID, { description: "Identifies the session for revokeSession" })
  id!: string;

  @Field({ description: "When the user signed in" })
  createdAt!: Date;

  @Field({ description: "When the session was last refreshed" })
  lastUsedAt!: Date;

  @Field(() => String, { nullable: true, description: "The User-Agent header of the login, if any" })
  userAgent!: string | null;

  @Field(() => String, { nullable: true, description: "The client address of the login, if known" })
  ipAddress!: string | null;

  @Field({ description: "True for the session this request was made with" })
  current!: boolean;
}

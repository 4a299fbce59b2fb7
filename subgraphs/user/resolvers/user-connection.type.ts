import { Field, Int, ObjectType } from "type-graphql";

import { PageInfo } from "../../../platform/graphql/page-info.type";
import { User } from "./user.type";

@ObjectType({ description: "A user in a page of users" })
export class UserEdge {
  @Field({ description: "Pass as `after` to continue after this user" })
  cursor!: string;

  @Field(() => User, { description: "The user" })
  node!: User;
}

@ObjectType({ description: "A page of users, newest first" })
export class UserConnection {
  @Field(() => [UserEdge], { description: "The users of this page" })
  edges!: UserEdge[];

  @Field(() => PageInfo, { description: "Whether more pages follow and where this one ends" })
  pageInfo!: PageInfo;

  @Field(() => Int, { description: "How many users match, across all pages" })
  totalCount!: number;
}

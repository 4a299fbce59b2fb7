import { Field, Int, ObjectType } from "type-graphql";
import { PageInfo } from "../../../platform/graphql/page-info.type";
import { User } from "./user.type";

@ObjectType()
export class UserEdge {
  @Field()
  cursor!: string;

  @Field(() => User)
  node!: User;
}

@ObjectType()
export class UserConnection {
  @Field(() => [UserEdge])
  edges!: UserEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

import { Directive, Field, ID, ObjectType } from "type-graphql";

/** This subgraph's view of the federated User: the key, plus the inbox fields resolved here. */
@ObjectType()
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;
}

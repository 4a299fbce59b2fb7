import { Directive, Field, ID, ObjectType } from "type-graphql";

/** This subgraph's view of the federated User: the key, plus `activity` resolved here. */
@ObjectType()
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;
}

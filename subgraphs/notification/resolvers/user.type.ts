import { Directive, Field, ID, ObjectType } from "type-graphql";

/** This subgraph's view of the federated User: the key, plus the inbox fields resolved here. */
// One class per subgraph on purpose: type-graphql attaches field resolvers to the class globally,
// so a shared key class would carry every subgraph's fields into every schema.
@ObjectType()
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;
}

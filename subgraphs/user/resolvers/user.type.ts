import { Directive, Field, ID, ObjectType } from "type-graphql";

/** This subgraph's view of the federated User: the key only; profile and preferences are field resolvers. */
@ObjectType()
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;
}

export const userRef = (id: string): User => ({ id });

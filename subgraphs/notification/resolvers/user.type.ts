import { Directive, Field, ID, ObjectType } from "type-graphql";

import { USER_DESCRIPTION, USER_ID_DESCRIPTION } from "../../../platform/graphql/user-entity";

/** This subgraph's view of the federated User: the key, plus the inbox fields resolved here. */
// One class per subgraph on purpose: type-graphql attaches field resolvers to the class globally,
// so a shared key class would carry every subgraph's fields into every schema.
@ObjectType({ description: USER_DESCRIPTION })
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID, { description: USER_ID_DESCRIPTION })
  id!: string;
}

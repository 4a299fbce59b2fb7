import { Directive, Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Role } from "../../../platform/identity/roles";

registerEnumType(Role, { name: "Role" });

/** The federated User entity; this subgraph owns it and resolves references to it. */
@ObjectType()
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;

  @Field({ description: "Visible to the user themself and to ADMIN only" })
  email!: string;

  @Field()
  emailVerified!: boolean;

  @Field(() => [Role])
  roles!: Role[];

  @Field()
  createdAt!: Date;
}

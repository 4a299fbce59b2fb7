import { Directive, Field, ID, ObjectType, registerEnumType } from "type-graphql";

import { USER_DESCRIPTION, USER_ID_DESCRIPTION } from "../../../platform/graphql/user-entity";
import { Role } from "../../../platform/identity/roles";

registerEnumType(Role, {
  name: "Role",
  description: "What a user may do: USER acts on their own data, ADMIN on anyone's",
});

/** The federated User entity; this subgraph owns it and resolves references to it. */
@ObjectType({ description: USER_DESCRIPTION })
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID, { description: USER_ID_DESCRIPTION })
  id!: string;

  @Field({ description: "Visible to the user themself and to ADMIN only" })
  email!: string;

  @Field({ description: "True once the user followed the link of a verification e-mail" })
  emailVerified!: boolean;

  @Field(() => [Role], {
    description: "Every account has USER; ADMIN is granted by setUserRoles or the admin e-mail list",
  })
  roles!: Role[];

  @Field({ description: "When the account was registered" })
  createdAt!: Date;
}

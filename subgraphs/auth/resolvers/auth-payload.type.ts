import { Field, Int, ObjectType } from "type-graphql";

import { User } from "./user.type";

@ObjectType({
  description: "What signing in gives: a short-lived access token and the refresh token that renews it",
})
export class AuthPayload {
  @Field({ description: "RS256 JWT, 15 minutes, header kid present" })
  accessToken!: string;

  @Field({ description: "Opaque, single use: every refresh returns a new one" })
  refreshToken!: string;

  @Field(() => Int, { description: "Seconds until accessToken expires" })
  expiresIn!: number;

  @Field(() => User, { description: "The signed-in user" })
  user!: User;
}

import { Field, ID, ObjectType } from "type-graphql";

@ObjectType()
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: "The start of the secret, to tell keys apart" })
  prefix!: string;

  @Field(() => [String])
  scopes!: string[];

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field({ description: "Shown once; only its hash is stored" })
  secret!: string;
}

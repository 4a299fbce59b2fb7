import { Field, ID, ObjectType } from "type-graphql";

@ObjectType({
  description: "A credential for programs, limited to its scopes; the secret is never shown again",
})
export class ApiKey {
  @Field(() => ID, { description: "Identifies the key for revokeApiKey" })
  id!: string;

  @Field({ description: "The owner's label for the key" })
  name!: string;

  @Field({ description: "The start of the secret, to tell keys apart" })
  prefix!: string;

  @Field(() => [String], { description: "What the key may do, e.g. user:read, notifications:write" })
  scopes!: string[];

  @Field({ description: "When the key was created" })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: "When a request last used the key; null if never" })
  lastUsedAt!: Date | null;

  @Field(() => Date, {
    nullable: true,
    description: "After this the key is refused; null: it does not expire",
  })
  expiresAt!: Date | null;
}

@ObjectType({ description: "A new API key with its secret, returned once by createApiKey" })
export class CreatedApiKey {
  @Field(() => ApiKey, { description: "The key as myApiKeys lists it" })
  apiKey!: ApiKey;

  @Field({ description: "Shown once; only its hash is stored" })
  secret!: string;
}

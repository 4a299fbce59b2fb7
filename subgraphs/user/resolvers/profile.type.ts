import { Field, ObjectType, registerEnumType } from "type-graphql";

import { Theme } from "../entities/user-profile.entity";

registerEnumType(Theme, { name: "Theme", description: "How apps look: SYSTEM follows the device setting" });

@ObjectType({ description: "What a user tells about themself" })
export class Profile {
  @Field({ description: "The name shown to others, 1 to 100 characters" })
  displayName!: string;

  @Field(() => String, { nullable: true, description: "A short text about the user, up to 1000 characters" })
  bio!: string | null;

  @Field(() => String, { nullable: true, description: "An https URL of the user's picture" })
  avatarUrl!: string | null;

  @Field({ description: "A BCP 47 language tag such as en or pt-BR; en until set" })
  locale!: string;

  @Field({ description: "An IANA time zone such as Europe/Paris; UTC until set" })
  timezone!: string;

  @Field({ description: "When the profile last changed" })
  updatedAt!: Date;
}

@ObjectType({ description: "How a user wants the apps to behave" })
export class Preferences {
  @Field(() => Theme, { description: "The colour scheme" })
  theme!: Theme;

  @Field({ description: "The language of the apps, a BCP 47 tag; en until set" })
  language!: string;

  @Field({ description: "True: the user accepts marketing messages" })
  marketingOptIn!: boolean;
}

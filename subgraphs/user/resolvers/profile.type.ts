import { Field, ObjectType, registerEnumType } from "type-graphql";
import { Theme } from "../entities/user-profile.entity";

registerEnumType(Theme, { name: "Theme" });

@ObjectType()
export class Profile {
  @Field()
  displayName!: string;

  @Field(() => String, { nullable: true })
  bio!: string | null;

  @Field(() => String, { nullable: true })
  avatarUrl!: string | null;

  @Field()
  locale!: string;

  @Field()
  timezone!: string;

  @Field()
  updatedAt!: Date;
}

@ObjectType()
export class Preferences {
  @Field(() => Theme)
  theme!: Theme;

  @Field()
  language!: string;

  @Field()
  marketingOptIn!: boolean;
}

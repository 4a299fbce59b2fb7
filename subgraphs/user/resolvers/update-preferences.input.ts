import { Field, InputType } from "type-graphql";
import { z } from "zod";
import { Theme } from "../entities/user-profile.entity";
import { languageTag } from "./update-profile.input";

@InputType()
export class UpdatePreferencesInput {
  @Field(() => Theme, { nullable: true })
  theme?: Theme | null;

  @Field(() => String, { nullable: true })
  language?: string | null;

  @Field(() => Boolean, { nullable: true })
  marketingOptIn?: boolean | null;
}

/** A null or absent field is left as it is. */
export const updatePreferencesSchema = z.object({
  theme: z.enum(Theme).nullish(),
  language: languageTag.nullish(),
  marketingOptIn: z.boolean().nullish(),
});

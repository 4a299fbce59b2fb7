import { Field, InputType } from "type-graphql";
import { z } from "zod";

import { Theme } from "../entities/user-profile.entity";
import { languageTag } from "./update-profile.input";

@InputType({ description: "Preference changes; a null or absent field is left as it is" })
export class UpdatePreferencesInput {
  @Field(() => Theme, { nullable: true, description: "The colour scheme" })
  theme?: Theme | null;

  @Field(() => String, { nullable: true, description: "A BCP 47 language tag such as en or pt-BR" })
  language?: string | null;

  @Field(() => Boolean, { nullable: true, description: "True: accept marketing messages" })
  marketingOptIn?: boolean | null;
}

/** A null or absent field is left as it is. */
export const updatePreferencesSchema = z.object({
  theme: z.enum(Theme).nullish(),
  language: languageTag.nullish(),
  marketingOptIn: z.boolean().nullish(),
});

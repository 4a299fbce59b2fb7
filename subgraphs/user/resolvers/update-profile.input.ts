import { Field, InputType } from "type-graphql";
import { z } from "zod";

@InputType({ description: "Profile changes; a null or absent field is left as it is" })
export class UpdateProfileInput {
  @Field(() => String, { nullable: true, description: "1 to 100 characters" })
  displayName?: string | null;

  @Field(() => String, { nullable: true, description: "Up to 1000 characters; an empty string clears it" })
  bio?: string | null;

  @Field(() => String, { nullable: true, description: "An https URL; an empty string clears it" })
  avatarUrl?: string | null;

  @Field(() => String, { nullable: true, description: "A BCP 47 language tag such as en or pt-BR" })
  locale?: string | null;

  @Field(() => String, { nullable: true, description: "An IANA time zone such as Europe/Paris" })
  timezone?: string | null;
}

export const languageTag = z
  .string()
  .max(35, { error: "must be at most 35 characters" })
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, { error: "must be a BCP 47 language tag such as en or pt-BR" });

const trimmed = (max: number) =>
  z
    .string()
    .transform((value) => value.trim())
    .pipe(z.string().max(max, { error: `must be at most ${max} characters` }));

/** A null or absent field is left as it is; bio and avatarUrl may be cleared with an empty string. */
export const updateProfileSchema = z.object({
  displayName: trimmed(100)
    .pipe(z.string().min(1, { error: "must not be empty" }))
    .nullish(),
  bio: trimmed(1000).nullish(),
  avatarUrl: z
    .union([z.literal(""), z.url({ protocol: /^https$/, error: "must be an https URL" }).max(2048)])
    .nullish(),
  locale: languageTag.nullish(),
  timezone: z
    .string()
    .refine((tz) => isTimeZone(tz), { error: "must be an IANA time zone such as Europe/Paris" })
    .nullish(),
});

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

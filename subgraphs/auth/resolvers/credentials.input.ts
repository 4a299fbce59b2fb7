import { Field, InputType } from "type-graphql";
import { z } from "zod";

@InputType()
export class RegisterInput {
  @Field()
  email!: string;

  @Field()
  password!: string;

  @Field()
  displayName!: string;
}

@InputType()
export class LoginInput {
  @Field()
  email!: string;

  @Field()
  password!: string;
}

/** One spelling per address: Unicode NFKC, trimmed, lower-case. Login looks addresses up the same way. */
const normalizedEmail = z
  .string()
  .max(254)
  .transform((value) => value.normalize("NFKC").trim().toLowerCase());

export const emailSchema = normalizedEmail.pipe(z.email({ error: "must be a valid e-mail address" }));

// Length is checked before anything is hashed: a 1 MB "password" never reaches bcrypt.
export const newPasswordSchema = z
  .string()
  .min(12, { error: "must be at least 12 characters" })
  .max(256, { error: "must be at most 256 characters" });

export const registerSchema = z.object({
  email: emailSchema,
  password: newPasswordSchema,
  displayName: z
    .string()
    .transform((value) => value.trim())
    .pipe(
      z.string().min(1, { error: "must not be empty" }).max(100, { error: "must be at most 100 characters" }),
    ),
});

export const loginSchema = z.object({
  email: normalizedEmail,
  password: z.string().max(256, { error: "must be at most 256 characters" }),
});

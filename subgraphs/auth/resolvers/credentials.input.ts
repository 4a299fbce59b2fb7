import { Field, InputType } from "type-graphql";
import { z } from "zod";

import { isScope, SCOPES } from "../../../platform/identity/scopes";
import { COMMON_PASSWORDS } from "../services/common-passwords";

@InputType({ description: "A new account" })
export class RegisterInput {
  @Field({ description: "The sign-in address; a verification e-mail is sent to it" })
  email!: string;

  @Field({ description: "At least 12 characters, not a commonly used password" })
  password!: string;

  @Field({ description: "The name shown in the profile, 1 to 100 characters" })
  displayName!: string;
}

@InputType({ description: "E-mail and password credentials" })
export class LoginInput {
  @Field({ description: "The address the account was registered with" })
  email!: string;

  @Field({ description: "The account's password" })
  password!: string;
}

@InputType({ description: "A password change by a signed-in user" })
export class ChangePasswordInput {
  @Field({ description: "The password in use, to prove it is the user" })
  currentPassword!: string;

  @Field({ description: "At least 12 characters, not a commonly used password" })
  newPassword!: string;
}

@InputType({ description: "A forgotten password replaced with the token of a reset e-mail" })
export class ResetPasswordInput {
  @Field({ description: "The token from the e-mail that requestPasswordReset sent; single use, expires" })
  token!: string;

  @Field({ description: "At least 12 characters, not a commonly used password" })
  newPassword!: string;
}

@InputType({ description: "A new API key" })
export class CreateApiKeyInput {
  @Field({ description: "A label to tell the key apart, 1 to 100 characters" })
  name!: string;

  @Field(() => [String], { description: `Any of: ${SCOPES.join(", ")}` })
  scopes!: string[];

  @Field({ nullable: true, description: "When the key stops working (in the future); omitted: never" })
  expiresAt?: Date;
}

/** One spelling per address: Unicode NFKC, trimmed, lower-case. Login looks addresses up the same way. */
export const normalizeEmail = (value: string) => value.normalize("NFKC").trim().toLowerCase();

const normalizedEmail = z
  .string()
  .max(254, { error: "must be at most 254 characters" })
  .transform(normalizeEmail);

export const emailSchema = normalizedEmail.pipe(z.email({ error: "must be a valid e-mail address" }));

const commonForm = (password: string) => password.normalize("NFKC").toLowerCase().replace(/\s+/g, "");
const COMMON_FORMS = new Set([...COMMON_PASSWORDS].map(commonForm));

// Length is checked before anything is hashed: a 1 MB "password" never reaches bcrypt. Length
// counts characters (code points), so a 64-character non-ASCII password is 64, not its byte count.
export const newPasswordSchema = z
  .string()
  .refine((value) => [...value].length >= 12, { error: "must be at least 12 characters", abort: true })
  .refine((value) => [...value].length <= 256, { error: "must be at most 256 characters", abort: true })
  .refine((value) => !COMMON_FORMS.has(commonForm(value)), {
    error: "is too common; choose a less guessable password",
  });

/** A password being checked, not set: only the size limit, so nothing oversized is hashed. */
export const passwordSchema = z
  .string()
  .refine((value) => [...value].length <= 256, { error: "must be at most 256 characters" });

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

export const loginSchema = z.object({ email: normalizedEmail, password: passwordSchema });

export const changePasswordSchema = z.object({
  currentPassword: passwordSchema,
  newPassword: newPasswordSchema,
});

export const resetPasswordSchema = z.object({
  token: z.string().max(256, { error: "must be at most 256 characters" }),
  newPassword: newPasswordSchema,
});

export const createApiKeySchema = z.object({
  name: z
    .string()
    .transform((value) => value.trim())
    .pipe(
      z.string().min(1, { error: "must not be empty" }).max(100, { error: "must be at most 100 characters" }),
    ),
  scopes: z
    .array(z.string().refine(isScope, { error: `must be one of ${SCOPES.join(", ")}` }))
    .min(1, { error: "must name at least one scope" })
    .max(SCOPES.length)
    .transform((scopes) => [...new Set(scopes)]),
  expiresAt: z
    .date()
    .optional()
    .refine((value) => value === undefined || value.getTime() > Date.now(), {
      error: "must be in the future",
    }),
});

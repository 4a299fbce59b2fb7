import { badUserInput, publicError } from "../../../platform/errors";
import type { UserAccount } from "../entities/user-account.entity";
import type { AuthContext } from "../resolvers/context";

/**
 * A signed-in user re-entering their password (password change, account deletion). It counts
 * against the same limits as login, so a stolen access token cannot be used to guess it; here the
 * caller is known, so being blocked is said plainly (RATE_LIMITED with retryAfter).
 */
export async function confirmPassword(
  ctx: AuthContext,
  account: UserAccount,
  password: string,
  field: string,
): Promise<void> {
  const { loginThrottle, passwords } = ctx.deps;
  const admission = await loginThrottle.admit(account.email, ctx.request.ip);
  if (!admission.allowed)
    throw publicError("RATE_LIMITED", "Too many password attempts; try again later", {
      retryAfter: admission.retryAfterSeconds,
    });
  if (!(await passwords.verify(password, account.passwordHash, ctx.deadline)))
    throw badUserInput(field, `${field}: is not your current password`);
  await loginThrottle.succeeded(account.email, ctx.request.ip);
}

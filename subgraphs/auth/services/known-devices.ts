import { SecurityAlert } from "../../../contracts/events/auth";
import { hashSecret } from "../../../platform/identity/credential-store";
import { KnownDevice } from "../entities/known-device.entity";
import type { UserAccount } from "../entities/user-account.entity";
import type { AuthContext } from "../resolvers/context";

/**
 * Remembers the device (user agent) of a sign-in, in the caller's unit of work: the device, the
 * alert about it and the sign-in's audit record commit together. A device never seen before, on
 * an account that already has one, stages a security alert.
 */
export async function noteDevice(ctx: AuthContext, account: UserAccount): Promise<void> {
  const fingerprint = hashSecret(ctx.request.userAgent ?? "unknown");
  if (await ctx.em.findOne(KnownDevice, { userId: account.id, fingerprint })) return;
  const known = await ctx.em.count(KnownDevice, { userId: account.id });
  ctx.em.persist(Object.assign(new KnownDevice(), { userId: account.id, fingerprint }));
  if (known === 0) return;
  ctx.emit(SecurityAlert, {
    userId: account.id,
    email: account.email,
    kind: "new-device",
    ipAddress: ctx.request.ip?.slice(0, 64) ?? null,
    userAgent: ctx.request.userAgent?.slice(0, 512) ?? null,
  });
}

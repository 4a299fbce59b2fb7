import { hashSecret } from "../../../platform/identity/credential-store";
import { SecurityAlert } from "../events/auth.events";
import type { UserAccount } from "../entities/user-account.entity";
import type { AuthContext } from "../resolvers/context";

/**
 * Remembers the device (user agent) of a sign-in. A device never seen before, on an account that
 * already has one, stages a security alert in the same transaction as the sign-in's audit record.
 */
export async function noteDevice(ctx: AuthContext, account: UserAccount): Promise<void> {
  const fingerprint = hashSecret(ctx.request.userAgent ?? "unknown");
  const inserted = await ctx.em.execute<{ user_id: string }[]>(
    `insert into known_devices (user_id, fingerprint, first_seen_at) values (?, ?, now())
     on conflict do nothing returning user_id`,
    [account.id, fingerprint],
  );
  if (inserted.length === 0) return;
  const [row] = await ctx.em.execute<{ count: string }[]>(
    `select count(*) from known_devices where user_id = ?`,
    [account.id],
  );
  if (Number(row?.count ?? 0) <= 1) return;
  ctx.emit(SecurityAlert, {
    userId: account.id,
    email: account.email,
    kind: "new-device",
    ipAddress: ctx.request.ip?.slice(0, 64) ?? null,
    userAgent: ctx.request.userAgent?.slice(0, 512) ?? null,
  });
}

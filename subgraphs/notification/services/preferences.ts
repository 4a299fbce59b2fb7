import type { EntityManager } from "@mikro-orm/postgresql";

import { uuidArray } from "../../../platform/database/loaders";
import { NotificationChannel } from "../entities/notification.entity";
import { NotificationPreference } from "../entities/notification-preference.entity";

/** Every channel, in the order preferences are listed. */
export const CHANNELS: readonly NotificationChannel[] = [
  NotificationChannel.EMAIL,
  NotificationChannel.SMS,
  NotificationChannel.PUSH,
  NotificationChannel.IN_APP,
];

/**
 * Kinds a user cannot switch off: they protect the account itself. Marketing is the other
 * exception, the opposite way: it goes only to users who opted in (`marketingConsents`), and then
 * still only on the channels they keep on.
 */
export const SECURITY_KINDS: ReadonlySet<string> = new Set([
  "security-alert",
  "password-reset",
  "verify-email",
]);

export type ChannelSettings = Record<NotificationChannel, boolean>;

/** The default: every channel enabled. */
export const allEnabled = (): ChannelSettings =>
  Object.fromEntries(CHANNELS.map((channel) => [channel, true])) as ChannelSettings;

/** The stored choices over the default (all enabled), for many users in one query. */
export async function channelSettings(
  em: EntityManager,
  userIds: readonly string[],
): Promise<Map<string, ChannelSettings>> {
  const settings = new Map<string, ChannelSettings>(userIds.map((id) => [id, allEnabled()]));
  if (userIds.length === 0) return settings;
  const rows = await em.execute<{ user_id: string; channel: NotificationChannel; enabled: boolean }[]>(
    `select user_id, channel, enabled from notification_preferences where user_id = any(?::uuid[])`,
    [uuidArray([...new Set(userIds)])],
  );
  for (const row of rows) {
    const own = settings.get(row.user_id);
    if (own) own[row.channel] = row.enabled;
  }
  return settings;
}

/** Whether a message of `kind` may go to the user on `channel`: security kinds ignore preferences. */
export function allowed(settings: ChannelSettings | undefined, kind: string, channel: NotificationChannel) {
  return SECURITY_KINDS.has(kind) || (settings?.[channel] ?? true);
}

/** Stores the given choices (last write wins per channel); the other channels keep theirs. */
export async function savePreferences(
  em: EntityManager,
  userId: string,
  channels: readonly { channel: NotificationChannel; enabled: boolean }[],
): Promise<void> {
  if (channels.length === 0) return;
  await em.upsertMany(
    NotificationPreference,
    channels.map(({ channel, enabled }) =>
      Object.assign(new NotificationPreference(), { userId, channel, enabled, updatedAt: new Date() }),
    ),
    {
      onConflictFields: ["userId", "channel"],
      onConflictAction: "merge",
      onConflictMergeFields: ["enabled", "updatedAt"],
    },
  );
}

/** Of `userIds`, those whose latest choice is to receive marketing (the copy kept by events). */
export async function marketingConsents(em: EntityManager, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await em.execute<{ user_id: string }[]>(
    `select user_id from marketing_consents where opted_in and user_id = any(?::uuid[])`,
    [uuidArray([...new Set(userIds)])],
  );
  return new Set(rows.map((row) => row.user_id));
}

/** Keeps the choice with the highest revision: an older or repeated change (late, redelivered) changes nothing. */
export async function recordMarketingConsent(
  em: EntityManager,
  change: { userId: string; optedIn: boolean; revision: number; changedAt: Date },
): Promise<void> {
  await em.execute(
    `insert into marketing_consents (user_id, opted_in, changed_at, revision) values (?, ?, ?, ?)
     on conflict (user_id) do update
       set opted_in = excluded.opted_in, changed_at = excluded.changed_at, revision = excluded.revision
     where marketing_consents.revision < excluded.revision`,
    [change.userId, change.optedIn, change.changedAt, change.revision],
  );
}

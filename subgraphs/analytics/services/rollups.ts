import type { EntityManager } from "@mikro-orm/postgresql";
import type { TrackedEvent } from "../entities/tracked-event.entity";

/** Event names this subgraph records from domain events; clients may not track them. */
export const REGISTRATION_EVENT = "user.registered";
export const RECORDED_DOMAIN_EVENTS: readonly string[] = [REGISTRATION_EVENT];

/** Lower-case words joined by dots, e.g. page.viewed. */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;

const HOUR_MS = 3_600_000;

/** The UTC hour an instant falls in, as the `event_counts_hourly.bucket` it counts towards. */
export const hourOf = (at: Date) => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);

/** The UTC day (YYYY-MM-DD) an instant falls in, as the `user_activity_daily.day` it marks. */
export const dayOf = (at: Date) => at.toISOString().slice(0, 10);

/**
 * Inserts the events and folds them into the rollups, in `em`'s transaction (the caller's
 * `transactional`): the counts change exactly when the events commit. Keys are upserted in sorted
 * order so concurrent writers lock the shared hour rows in the same order and never deadlock.
 */
export async function recordEvents(em: EntityManager, events: TrackedEvent[]): Promise<void> {
  if (events.length === 0) return;
  for (const event of events) em.persist(event);
  await em.flush();

  const counts = new Map<string, { bucket: Date; name: string; count: number }>();
  const active = new Map<string, { day: string; userId: string }>();
  for (const event of events) {
    const bucket = hourOf(event.occurredAt);
    const key = `${bucket.toISOString()} ${event.name}`;
    const row = counts.get(key) ?? { bucket, name: event.name, count: 0 };
    row.count++;
    counts.set(key, row);
    if (event.userId) {
      const day = dayOf(event.occurredAt);
      active.set(`${day} ${event.userId}`, { day, userId: event.userId });
    }
  }
  const countRows = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  await em.execute(
    `insert into event_counts_hourly (bucket, name, count) values ${countRows.map(() => "(?::timestamptz, ?, ?::bigint)").join(", ")}
     on conflict (bucket, name) do update set count = event_counts_hourly.count + excluded.count`,
    countRows.flatMap((row) => [row.bucket.toISOString(), row.name, row.count]),
  );
  const activeRows = [...active.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  if (activeRows.length > 0)
    await em.execute(
      `insert into user_activity_daily (day, user_id) values ${activeRows.map(() => "(?::date, ?::uuid)").join(", ")}
       on conflict do nothing`,
      activeRows.flatMap((row) => [row.day, row.userId]),
    );
}

/**
 * An erased account in the rollups: its days of activity go (they name the user), and its
 * registrations are taken back from the hourly counts so "total users" counts existing accounts.
 * Other counts carry no user id and stay. Call before the raw events are deleted, in that transaction.
 */
export async function eraseFromRollups(em: EntityManager, userId: string): Promise<void> {
  const adjusted = await em.execute<{ bucket: Date; name: string; count: string }[]>(
    `with registered as (
       select date_trunc('hour', occurred_at, 'UTC') as bucket, name, count(*) as n
       from events where user_id = ? and name = any(?::text[]) group by 1, 2
     )
     update event_counts_hourly h set count = h.count - r.n from registered r
     where h.bucket = r.bucket and h.name = r.name
     returning h.bucket, h.name, h.count`,
    [userId, `{${RECORDED_DOMAIN_EVENTS.join(",")}}`],
  );
  for (const row of adjusted.filter((r) => Number(r.count) <= 0))
    await em.execute(`delete from event_counts_hourly where bucket = ? and name = ? and count <= 0`, [
      row.bucket,
      row.name,
    ]);
  await em.execute(`delete from user_activity_daily where user_id = ?`, [userId]);
}

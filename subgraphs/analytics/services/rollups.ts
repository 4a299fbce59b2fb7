import type { EntityManager } from "@mikro-orm/postgresql";

import type { TrackedEvent } from "../entities/tracked-event.entity";
import { bitsOf, dateOf, indexesOf, yearDay } from "./activity-bits";
import { HOUR_MS } from "./time";

/** Event names this subgraph records from domain events; clients may not track them. */
export const REGISTRATION_EVENT = "user.registered";

/** Lower-case words joined by dots, e.g. page.viewed. */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;

/** The UTC hour an instant falls in, as the `event_counts_hourly.bucket` it counts towards. */
export const hourOf = (at: Date) => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);

/** The UTC day (YYYY-MM-DD) an instant falls in. */
export const dayOf = (at: Date) => at.toISOString().slice(0, 10);

/** What the rollups need of an event. */
export type EventFacts = Pick<TrackedEvent, "userId" | "name" | "occurredAt">;

const byKey = <T>(rows: Map<string, T>): T[] =>
  [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);

const values = (rows: number, columns: string) => Array.from({ length: rows }, () => columns).join(", ");

/**
 * Inserts the events and folds them into the rollups, in `em`'s transaction (the caller's
 * `transactional`): the counts change exactly when the events commit.
 */
export async function recordEvents(em: EntityManager, events: TrackedEvent[]): Promise<void> {
  if (events.length === 0) return;
  for (const event of events) em.persist(event);
  await em.flush();
  await foldIntoRollups(em, events);
}

/**
 * Adds events to every rollup. Keys are upserted in sorted order so concurrent writers lock shared
 * rows (an hour's count, a user's totals) in the same order and never deadlock.
 */
export async function foldIntoRollups(em: EntityManager, events: readonly EventFacts[]): Promise<void> {
  const counts = new Map<string, { bucket: Date; name: string; count: number }>();
  const totals = new Map<
    string,
    { userId: string; count: number; lastSeenAt: Date; registeredAt: Date | null }
  >();
  const days = new Map<string, { userId: string; year: number; indexes: Set<number> }>();
  for (const event of events) {
    const bucket = hourOf(event.occurredAt);
    const countKey = `${bucket.toISOString()} ${event.name}`;
    const count = counts.get(countKey) ?? { bucket, name: event.name, count: 0 };
    count.count++;
    counts.set(countKey, count);
    if (!event.userId) continue;

    const total = totals.get(event.userId) ?? {
      userId: event.userId,
      count: 0,
      lastSeenAt: event.occurredAt,
      registeredAt: null,
    };
    total.count++;
    if (event.occurredAt > total.lastSeenAt) total.lastSeenAt = event.occurredAt;
    if (event.name === REGISTRATION_EVENT) total.registeredAt = event.occurredAt;
    totals.set(event.userId, total);

    const { year, index } = yearDay(event.occurredAt);
    const dayKey = `${event.userId} ${year}`;
    const day = days.get(dayKey) ?? { userId: event.userId, year, indexes: new Set<number>() };
    day.indexes.add(index);
    days.set(dayKey, day);
  }

  const countRows = byKey(counts);
  await em.execute(
    `insert into event_counts_hourly (bucket, name, count) values ${values(countRows.length, "(?::timestamptz, ?, ?::bigint)")}
     on conflict (bucket, name) do update set count = event_counts_hourly.count + excluded.count`,
    countRows.flatMap((row) => [row.bucket.toISOString(), row.name, row.count]),
  );
  if (totals.size === 0) return;

  const totalRows = byKey(totals);
  await em.execute(
    `insert into user_totals (user_id, event_count, last_seen_at, registered_at)
     values ${values(totalRows.length, "(?::uuid, ?::bigint, ?::timestamptz, ?::timestamptz)")}
     on conflict (user_id) do update set
       event_count = user_totals.event_count + excluded.event_count,
       last_seen_at = greatest(user_totals.last_seen_at, excluded.last_seen_at),
       registered_at = coalesce(user_totals.registered_at, excluded.registered_at)`,
    totalRows.flatMap((row) => [
      row.userId,
      row.count,
      row.lastSeenAt.toISOString(),
      row.registeredAt?.toISOString() ?? null,
    ]),
  );
  await recordActivity(em, byKey(days));
}

/**
 * Sets the users' day bits and counts each user-day that is new in `daily_active_users`. The
 * upsert computes `fresh` (the bits this write adds) from the row as it is when the write takes
 * its lock, so of two concurrent writers of the same user-day exactly one sees it as new.
 */
async function recordActivity(
  em: EntityManager,
  rows: { userId: string; year: number; indexes: Set<number> }[],
): Promise<void> {
  const added = await em.execute<{ year: number; fresh: string }[]>(
    `insert into user_activity_days as a (user_id, year, days, fresh)
     values ${values(rows.length, "(?::uuid, ?::smallint, ?::bit(366), ?::bit(366))")}
     on conflict (user_id, year) do update set days = a.days | excluded.days, fresh = excluded.days & ~a.days
     where (a.days | excluded.days) <> a.days
     returning year, fresh`,
    rows.flatMap((row) => {
      const bits = bitsOf(row.indexes);
      return [row.userId, row.year, bits, bits];
    }),
  );
  const perDay = new Map<string, { day: string; count: number }>();
  for (const { year, fresh } of added)
    for (const index of indexesOf(fresh)) {
      const day = dateOf(year, index);
      perDay.set(day, { day, count: (perDay.get(day)?.count ?? 0) + 1 });
    }
  await changeDailyActive(em, byKey(perDay));
}

async function changeDailyActive(em: EntityManager, rows: { day: string; count: number }[]): Promise<void> {
  if (rows.length === 0) return;
  await em.execute(
    `insert into daily_active_users (day, count) values ${values(rows.length, "(?::date, ?::integer)")}
     on conflict (day) do update set count = daily_active_users.count + excluded.count`,
    rows.flatMap((row) => [row.day, row.count]),
  );
}

/**
 * An erased account in the rollups: its days of activity and totals go (they name the user), the
 * daily active counts lose its days, and its registration is taken back from the hourly counts so
 * "total users" counts existing accounts. Other counts carry no user id and stay.
 */
export async function eraseFromRollups(em: EntityManager, userId: string): Promise<void> {
  // Rows are changed in the order recording takes them (hourly counts, totals, activity, daily
  // counts), so an erasure and a concurrent recording never wait for each other in a cycle.
  const [totals] = await em.execute<{ registered_at: Date | null }[]>(
    `select registered_at from user_totals where user_id = ?`,
    [userId],
  );
  if (totals?.registered_at) {
    const bucket = hourOf(new Date(totals.registered_at));
    await em.execute(`update event_counts_hourly set count = count - 1 where bucket = ? and name = ?`, [
      bucket,
      REGISTRATION_EVENT,
    ]);
    await em.execute(`delete from event_counts_hourly where bucket = ? and name = ? and count <= 0`, [
      bucket,
      REGISTRATION_EVENT,
    ]);
  }
  await em.execute(`delete from user_totals where user_id = ?`, [userId]);
  const activity = await em.execute<{ year: number; days: string }[]>(
    `delete from user_activity_days where user_id = ? returning year, days`,
    [userId],
  );
  const days = activity
    .flatMap(({ year, days }) => indexesOf(days).map((index) => dateOf(year, index)))
    .sort();
  if (days.length > 0) {
    const list = `{${days.join(",")}}`;
    await em.execute(
      `update daily_active_users set count = count - 1 where day in (select unnest(?::date[]) order by 1)`,
      [list],
    );
    await em.execute(`delete from daily_active_users where day = any(?::date[]) and count <= 0`, [list]);
  }
}

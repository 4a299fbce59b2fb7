import type { EntityManager } from "@mikro-orm/postgresql";

import { REGISTRATION_EVENT } from "./rollups";

export interface SeedOptions {
  /** Events to add, registrations included. */
  events: number;
  /** Synthetic users (default: events / 100, at least 1). */
  users?: number;
  /** Registrations spread over the last `days` days (default 180); events fall between a user's registration and `now`. */
  days?: number;
  /** Same seed, same counts, times and names (PostgreSQL's setseed; default 0.42); ids always differ. */
  seed?: number;
  now?: Date;
}

/** Names of synthetic events, most frequent first (picked with a skew, as real usage is). */
export const SEED_EVENT_NAMES = [
  "page.viewed",
  "button.clicked",
  "search.performed",
  "item.viewed",
  "item.added_to_cart",
  "checkout.started",
  "checkout.completed",
  "file.uploaded",
  "file.downloaded",
  "report.generated",
  "settings.changed",
  "invite.sent",
  "comment.posted",
  "video.played",
  "feature.used",
  "notification.opened",
  "export.requested",
  "integration.connected",
  "billing.viewed",
  "help.opened",
];

/**
 * Loads synthetic usage straight into the analytics database, in one transaction: `users` users,
 * each with a registration, and the rest of the events spread over them with a skew (a few heavy
 * users, a long tail) and over time (uniformly between registration and now). The rollups are
 * folded from the same rows in the same transaction, adding to whatever is there: the same result
 * recording each event one by one would give, at bulk speed. Synthetic users exist only here.
 */
export async function seedEvents(
  em: EntityManager,
  options: SeedOptions,
): Promise<{ users: number; events: number }> {
  const users = Math.max(1, Math.min(options.users ?? Math.floor(options.events / 100), options.events));
  const others = options.events - users;
  const days = options.days ?? 180;
  const now = options.now ?? new Date();
  await em.transactional(async (tx) => {
    await tx.execute(`select setseed(?::double precision)`, [options.seed ?? 0.42]);
    await tx.execute(
      `create temp table seed_users on commit drop as
       select n, gen_random_uuid() as user_id,
              ?::timestamptz - random() * (?::double precision * interval '1 day') as registered_at
       from generate_series(0, ?::int - 1) as n`,
      [now, days, users],
    );
    await tx.execute(`create unique index on seed_users (n)`);
    await tx.execute(
      `create temp table seed_events on commit drop as
       select user_id, ?::text as name, registered_at as occurred_at from seed_users
       union all
       select u.user_id, (?::text[])[1 + floor(?::int * power(random(), 2))::int],
              u.registered_at + random() * (?::timestamptz - u.registered_at)
       from (select floor(?::int * power(random(), 3))::int as n from generate_series(1, ?::int)) as pick
       join seed_users u using (n)`,
      [REGISTRATION_EVENT, `{${SEED_EVENT_NAMES.join(",")}}`, SEED_EVENT_NAMES.length, now, users, others],
    );
    await tx.execute(
      `insert into events (id, user_id, name, properties, occurred_at, received_at)
       select gen_random_uuid(), user_id, name, '{}'::jsonb, occurred_at, occurred_at from seed_events`,
    );
    await tx.execute(
      `insert into event_counts_hourly (bucket, name, count)
       select date_trunc('hour', occurred_at, 'UTC'), name, count(*) from seed_events group by 1, 2 order by 1, 2
       on conflict (bucket, name) do update set count = event_counts_hourly.count + excluded.count`,
    );
    await tx.execute(
      `insert into user_totals (user_id, event_count, last_seen_at, registered_at)
       select user_id, count(*), max(occurred_at), min(occurred_at) filter (where name = ?)
       from seed_events group by 1 order by 1
       on conflict (user_id) do update set
         event_count = user_totals.event_count + excluded.event_count,
         last_seen_at = greatest(user_totals.last_seen_at, excluded.last_seen_at),
         registered_at = coalesce(user_totals.registered_at, excluded.registered_at)`,
      [REGISTRATION_EVENT],
    );
    // Activity: the user-days not already marked count towards the daily active users.
    await tx.execute(
      `create temp table seed_days on commit drop as
       select distinct user_id, (occurred_at at time zone 'UTC')::date as day from seed_events`,
    );
    await tx.execute(
      `insert into daily_active_users (day, count)
       select s.day, count(*) from seed_days s
       left join user_activity_days a on a.user_id = s.user_id and a.year = extract(year from s.day)
       where a.user_id is null or get_bit(a.days, extract(doy from s.day)::int - 1) = 0
       group by 1 order by 1
       on conflict (day) do update set count = daily_active_users.count + excluded.count`,
    );
    await tx.execute(
      `insert into user_activity_days (user_id, year, days, fresh)
       select user_id, extract(year from day)::smallint,
              bit_or(set_bit(repeat('0', 366)::bit(366), extract(doy from day)::int - 1, 1)),
              repeat('0', 366)::bit(366)
       from seed_days group by 1, 2 order by 1, 2
       on conflict (user_id, year) do update set days = user_activity_days.days | excluded.days`,
    );
  });
  return { users, events: options.events };
}

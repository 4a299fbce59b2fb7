import type { EntityManager } from "@mikro-orm/postgresql";

import type { EventCount, InsightRange, RetentionCohort, TimeBucket } from "../resolvers/insights.type";
import { Interval } from "../resolvers/insights.type";
import { masksFor } from "./activity-bits";
import { dayOf, REGISTRATION_EVENT } from "./rollups";
import { DAY_MS } from "./time";

/**
 * Reads for the ADMIN insights, all from the rollups (never the raw events). An hour counts when it
 * overlaps [from, to), a UTC day likewise; an empty range (from = to) counts nothing.
 */

const UNIT: Record<Interval, { trunc: string; step: string }> = {
  [Interval.HOUR]: { trunc: "hour", step: "1 hour" },
  [Interval.DAY]: { trunc: "day", step: "1 day" },
  [Interval.WEEK]: { trunc: "week", step: "1 week" },
};

const empty = ({ from, to }: InsightRange) => from.getTime() >= to.getTime();

/** The UTC days overlapping the range: the first and the last (inclusive). */
function days({ from, to }: InsightRange): [string, string] {
  return [dayOf(from), dayOf(new Date(to.getTime() - 1))];
}

async function sum(em: EntityManager, sql: string, params: unknown[]): Promise<number> {
  const [row] = await em.execute<{ total: string | null }[]>(sql, params);
  return Number(row?.total ?? 0);
}

/** Accounts registered in hours starting before `to` (erased accounts are taken back). */
export function totalUsers(em: EntityManager, range: InsightRange): Promise<number> {
  return sum(em, `select sum(count) as total from event_counts_hourly where name = ? and bucket < ?`, [
    REGISTRATION_EVENT,
    range.to,
  ]);
}

export function newUsers(em: EntityManager, range: InsightRange): Promise<number> {
  if (empty(range)) return Promise.resolve(0);
  return sum(
    em,
    `select sum(count) as total from event_counts_hourly
     where name = ? and bucket >= date_trunc('hour', ?::timestamptz, 'UTC') and bucket < ?`,
    [REGISTRATION_EVENT, range.from, range.to],
  );
}

/** Distinct users with any event on a UTC day overlapping the range. */
export function activeUsers(em: EntityManager, range: InsightRange): Promise<number> {
  if (empty(range)) return Promise.resolve(0);
  return activeOnDays(em, ...days(range));
}

/** Distinct users with an event in the `length` UTC days ending with the range's last day (WAU: 7, MAU: 30). */
export function activeUsersEnding(em: EntityManager, range: InsightRange, length: number): Promise<number> {
  if (empty(range)) return Promise.resolve(0);
  const [, last] = days(range);
  const first = dayOf(new Date(new Date(`${last}T00:00:00Z`).getTime() - (length - 1) * DAY_MS));
  return activeOnDays(em, first, last);
}

/**
 * Users with a day bit set within [first, last] (UTC dates, inclusive): one pass over the
 * users' rows of the years involved, however long the range.
 */
async function activeOnDays(em: EntityManager, first: string, last: string): Promise<number> {
  const masks = masksFor(first, last);
  return sum(
    em,
    `select count(distinct user_id) as total from user_activity_days
     where ${masks.map(() => "(year = ? and (days & ?::bit(366)) <> repeat('0', 366)::bit(366))").join(" or ")}`,
    masks.flatMap(({ year, mask }) => [year, mask]),
  );
}

/** One bucket per UTC day overlapping the range, zeros included. */
export async function dailyActiveUsers(em: EntityManager, range: InsightRange): Promise<TimeBucket[]> {
  if (empty(range)) return [];
  const [first, last] = days(range);
  const rows = await em.execute<{ day: string; count: number }[]>(
    `select to_char(d.day, 'YYYY-MM-DD') as day, coalesce(a.count, 0) as count
     from generate_series(?::date, ?::date, interval '1 day') as d(day)
     left join daily_active_users a on a.day = d.day::date
     order by d.day`,
    [first, last],
  );
  return rows.map((row) => ({ start: new Date(`${row.day}T00:00:00.000Z`), count: Number(row.count) }));
}

/** Registrations in the whole UTC weeks (Monday to Monday) that overlap [from, to). */
const WHOLE_WEEKS = `registered_at >= date_trunc('week', ?::timestamptz at time zone 'UTC') at time zone 'UTC'
  and registered_at < (date_trunc('week', (?::timestamptz - interval '1 microsecond') at time zone 'UTC') + interval '7 days') at time zone 'UTC'`;

/**
 * Weekly retention: users who registered in each UTC week (Monday) overlapping the range, and
 * how many of them were active in that week and each of the `weeks - 1` following ones. Weeks not
 * yet begun (relative to `now`) are left out, so a young cohort has a shorter list.
 */
export async function retentionCohorts(
  em: EntityManager,
  range: InsightRange,
  weeks: number,
  now = new Date(),
): Promise<RetentionCohort[]> {
  if (empty(range)) return [];
  const sizes = await em.execute<{ week: string; users: string }[]>(
    `select to_char(date_trunc('week', registered_at at time zone 'UTC'), 'YYYY-MM-DD') as week, count(*) as users
     from user_totals
     where ${WHOLE_WEEKS}
     group by 1 order by 1`,
    [range.from, range.to],
  );
  if (sizes.length === 0) return [];
  const today = dayOf(now);
  const retained = await em.execute<{ week: string; k: number; users: string }[]>(
    `with cohort as (
       select user_id, date_trunc('week', registered_at at time zone 'UTC')::date as week
       from user_totals
       where ${WHOLE_WEEKS}
     ),
     offsets as (
       select w.week, k, w.week + 7 * k as start
       from (select distinct week from cohort) w, generate_series(0, ? - 1) as k
       where w.week + 7 * k <= ?::date
     ),
     masks as (
       select o.week, o.k, extract(year from d)::smallint as year,
              bit_or(set_bit(repeat('0', 366)::bit(366), extract(doy from d)::int - 1, 1)) as mask
       from offsets o, generate_series(o.start, o.start + 6, interval '1 day') as d
       group by 1, 2, 3
     )
     select to_char(m.week, 'YYYY-MM-DD') as week, m.k, count(distinct c.user_id) as users
     from masks m
     join cohort c on c.week = m.week
     join user_activity_days a on a.user_id = c.user_id and a.year = m.year
     where (a.days & m.mask) <> repeat('0', 366)::bit(366)
     group by 1, 2`,
    [range.from, range.to, weeks, today],
  );
  const counts = new Map(retained.map((row) => [`${row.week} ${row.k}`, Number(row.users)]));
  return sizes.map(({ week, users }) => {
    const start = new Date(`${week}T00:00:00.000Z`);
    const begun = Math.min(
      weeks,
      Math.floor((new Date(`${today}T00:00:00Z`).getTime() - start.getTime()) / (7 * 86_400_000)) + 1,
    );
    const active = Array.from({ length: begun }, (_, k) => counts.get(`${week} ${k}`) ?? 0);
    const size = Number(users);
    return { week: start, users: size, active, rates: active.map((n) => (size === 0 ? 0 : n / size)) };
  });
}

export async function topEvents(
  em: EntityManager,
  range: InsightRange,
  limit: number,
): Promise<EventCount[]> {
  if (empty(range)) return [];
  const rows = await em.execute<{ name: string; count: string }[]>(
    `select name, sum(count) as count from event_counts_hourly
     where bucket >= date_trunc('hour', ?::timestamptz, 'UTC') and bucket < ?
     group by name having sum(count) > 0 order by sum(count) desc, name limit ?`,
    [range.from, range.to, limit],
  );
  return rows.map((row) => ({ name: row.name, count: Number(row.count) }));
}

/** Events (of one name, or all) per bucket of `interval` overlapping the range, zeros included. */
export async function eventSeries(
  em: EntityManager,
  range: InsightRange,
  interval: Interval,
  name: string | null,
): Promise<TimeBucket[]> {
  if (empty(range)) return [];
  const { trunc, step } = UNIT[interval];
  // Buckets are generated in UTC wall time (timestamp without zone) so a session time zone with
  // daylight saving cannot shift a day or a week.
  const rows = await em.execute<{ start: Date; count: string }[]>(
    `with counts as (
       select date_trunc(?, bucket at time zone 'UTC') as local, sum(count) as count
       from event_counts_hourly
       where bucket >= date_trunc('hour', ?::timestamptz, 'UTC') and bucket < ? ${name === null ? "" : "and name = ?"}
       group by 1
     )
     select s.local at time zone 'UTC' as start, coalesce(c.count, 0) as count
     from generate_series(
       date_trunc(?, ?::timestamptz at time zone 'UTC'),
       (?::timestamptz - interval '1 microsecond') at time zone 'UTC',
       ?::interval
     ) as s(local)
     left join counts c on c.local = s.local
     order by s.local`,
    [trunc, range.from, range.to, ...(name === null ? [] : [name]), trunc, range.from, range.to, step],
  );
  return rows.map((row) => ({ start: new Date(row.start), count: Number(row.count) }));
}

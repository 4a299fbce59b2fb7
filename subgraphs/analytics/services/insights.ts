import type { EntityManager } from "@mikro-orm/postgresql";
import type { EventCount, InsightRange, TimeBucket } from "../resolvers/insights.type";
import { Interval } from "../resolvers/insights.type";
import { dayOf, REGISTRATION_EVENT } from "./rollups";

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
  return sum(
    em,
    // A grouped subquery (hash aggregate) rather than count(distinct), which sorts: ~2x faster here.
    `select count(*) as total from (
       select user_id from user_activity_daily where day between ?::date and ?::date group by user_id
     ) as active`,
    days(range),
  );
}

/** One bucket per UTC day overlapping the range, zeros included. */
export async function dailyActiveUsers(em: EntityManager, range: InsightRange): Promise<TimeBucket[]> {
  if (empty(range)) return [];
  const [first, last] = days(range);
  const rows = await em.execute<{ day: string; count: string }[]>(
    `with counts as (
       select day, count(*) as count from user_activity_daily where day between ?::date and ?::date group by day
     )
     select to_char(d.day, 'YYYY-MM-DD') as day, coalesce(c.count, 0) as count
     from generate_series(?::date, ?::date, interval '1 day') as d(day)
     left join counts c on c.day = d.day::date
     order by d.day`,
    [first, last, first, last],
  );
  return rows.map((row) => ({ start: new Date(`${row.day}T00:00:00.000Z`), count: Number(row.count) }));
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

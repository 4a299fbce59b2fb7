/* eslint-disable max-lines -- every case runs against one started supergraph (seconds to
   start), the insights over one seeded history; splitting the file would start and seed another. */
import { createLogger } from "../../platform/logger";
import {
  AnalyticsOverviewDocument,
  ChangePasswordDocument,
  EventSeriesDocument,
  MyActivityDocument,
  RequestPasswordResetDocument,
  RetentionCohortsDocument,
  TrackEventDocument,
  TrackEventsDocument,
  UpdatePreferencesDocument,
  UpdateProfileDocument,
  UserEngagementDocument,
} from "../../schema/generated/graphql";
import { TrackedEvent } from "../../subgraphs/analytics/entities/tracked-event.entity";
import { EventIngester } from "../../subgraphs/analytics/services/ingester";
import { RetentionSweeper } from "../../subgraphs/analytics/services/retention";
import { seedEvents } from "../../subgraphs/analytics/services/seed";
import { DAY_MS as DAY, HOUR_MS as HOUR } from "../../subgraphs/analytics/services/time";
import { eventually } from "../support/async";
import { codesOf } from "../support/graphql-client";
import {
  apiKeyHeaders,
  firstAdmin,
  PASSWORD,
  register,
  type SignedIn,
  uniqueEmail,
} from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";

// Ingestion (single, batched, concurrent, by API key, from domain events), the insights over a
// seeded history checked against the raw events, and raw-event retention, through the router on
// real PostgreSQL, Redis and RabbitMQ.

const ADMIN_EMAIL = `ingestion-root-${process.pid}@example.com`;
const iso = (at: Date) => at.toISOString();

describeWithServices(["postgres", "redis", "rabbitmq"], "analytics ingestion, scale and retention", () => {
  let env: TestSupergraph;
  let admin: SignedIn;
  const now = new Date();
  const from = new Date(Math.floor(now.getTime() / DAY) * DAY - 100 * DAY);
  const to = new Date(now.getTime() + HOUR);

  const sql = <T>(query: string, params: unknown[] = []) => subgraphSql<T>(env, "analytics", query, params);

  const activity = async (user: SignedIn) => {
    const response = await env.request(MyActivityDocument, {}, { token: user.token });
    expect(response.errors).toBeUndefined();
    return response.data!.me!.activity;
  };

  /** A new user's activity once both domain events of the registration are recorded. */
  const settled = async (user: SignedIn) =>
    eventually(async () => {
      const { eventCount } = await activity(user);
      expect(eventCount).toBe(2); // user.registered, auth.email_verification_requested
      return eventCount;
    });

  const countOf = async (name: string) => {
    const response = await env.request(
      EventSeriesDocument,
      { name, from: iso(from), to: iso(to), interval: "WEEK" },
      { token: admin.token },
    );
    expect(response.errors).toBeUndefined();
    return response.data!.eventSeries.reduce((sum, bucket) => sum + bucket.count, 0);
  };

  beforeAll(async () => {
    env = await startTestSupergraph("services", { auth: { adminEmails: [ADMIN_EMAIL] } });
    admin = await firstAdmin(env, ADMIN_EMAIL);
    await eventually(async () => expect((await activity(admin)).eventCount).toBeGreaterThan(0));
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  describe("insights over a seeded history agree with the raw events", () => {
    beforeAll(async () => {
      const stored = async () => {
        const [row] = await sql<{ events: string; users: string }>(
          `select count(*) as events, count(distinct user_id) as users from events`,
        );
        return { events: Number(row!.events), users: Number(row!.users) };
      };
      const before = await stored();
      const seeded = await seedEvents(env.supergraph.subgraphs.analytics.db.orm.em.fork(), {
        events: 30_000,
        users: 400,
        days: 120,
        seed: 0.1,
        now,
      });
      expect(seeded).toEqual({ users: 400, events: 30_000 });
      // What the database holds, not what the seeder says it did.
      const after = await stored();
      expect({ events: after.events - before.events, users: after.users - before.users }).toEqual({
        events: 30_000,
        users: 400,
      });
    });

    const firstDay = iso(from).slice(0, 10);
    const lastDay = iso(new Date(to.getTime() - 1)).slice(0, 10);

    it("counts active users over the range, the last 7 and 30 days, and per day", async () => {
      const distinctBetween = async (first: string, last: string) => {
        const [row] = await sql<{ n: string }>(
          `select count(distinct user_id) as n from events
           where user_id is not null and (occurred_at at time zone 'UTC')::date between ?::date and ?::date`,
          [first, last],
        );
        return Number(row!.n);
      };
      const daysBefore = (days: number) => iso(new Date(Date.parse(lastDay) - days * DAY)).slice(0, 10);
      const expected = {
        activeUsers: await distinctBetween(firstDay, lastDay),
        weeklyActiveUsers: await distinctBetween(daysBefore(6), lastDay),
        monthlyActiveUsers: await distinctBetween(daysBefore(29), lastDay),
      };
      expect(expected.activeUsers).toBeGreaterThan(300);
      expect(expected.weeklyActiveUsers).toBeLessThan(expected.monthlyActiveUsers);
      const engagement = await env.request(
        UserEngagementDocument,
        { from: iso(from), to: iso(to) },
        { token: admin.token },
      );
      expect(engagement.errors).toBeUndefined();
      expect(engagement.data!.analyticsOverview).toEqual(expected);

      const perDay = await sql<{ day: string; n: string }>(
        `select to_char((occurred_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day, count(distinct user_id) as n
         from events where user_id is not null and occurred_at >= ? group by 1`,
        [from],
      );
      const overview = await env.request(
        AnalyticsOverviewDocument,
        { from: iso(from), to: iso(to), limit: 5 },
        { token: admin.token },
      );
      expect(overview.errors).toBeUndefined();
      const daily = overview.data!.analyticsOverview.dailyActiveUsers;
      expect(daily).toHaveLength(101);
      const counts = new Map(perDay.map((row) => [`${row.day}T00:00:00.000Z`, Number(row.n)]));
      expect(daily).toEqual(
        daily.map((bucket) => ({ start: bucket.start, count: counts.get(bucket.start) ?? 0 })),
      );
      expect(daily.filter((bucket) => bucket.count > 0).length).toBeGreaterThan(90);
    });

    it("ranks the top events and counts users like the raw events do", async () => {
      const top = await sql<{ name: string; n: string }>(
        `select name, count(*) as n from events where occurred_at >= ? and occurred_at < ?
         group by 1 order by 2 desc, 1 limit 5`,
        [from, to],
      );
      const [registered] = await sql<{ n: string }>(
        `select count(*) as n from events where name = 'user.registered' and occurred_at >= ? and occurred_at < ?`,
        [from, to],
      );
      const overview = await env.request(
        AnalyticsOverviewDocument,
        { from: iso(from), to: iso(to), limit: 5 },
        { token: admin.token },
      );
      expect(overview.data!.analyticsOverview.topEvents).toEqual(
        top.map((row) => ({ name: row.name, count: Number(row.n) })),
      );
      expect(overview.data!.analyticsOverview.topEvents[0]!.name).toBe("page.viewed");
      expect(overview.data!.analyticsOverview.newUsers).toBe(Number(registered!.n));
    });

    it("follows weekly retention cohorts", async () => {
      const weeks = 8;
      const response = await env.request(
        RetentionCohortsDocument,
        { from: iso(from), to: iso(to), weeks },
        { token: admin.token },
      );
      expect(response.errors).toBeUndefined();
      const cohorts = response.data!.retentionCohorts;
      expect(cohorts.length).toBeGreaterThanOrEqual(14);

      const raw = await sql<{ week: string; k: number; n: string }>(
        `with cohort as (
           select user_id, date_trunc('week', occurred_at at time zone 'UTC')::date as week
           from events where name = 'user.registered'
             and occurred_at >= date_trunc('week', ?::timestamptz at time zone 'UTC') at time zone 'UTC'
             and occurred_at < (date_trunc('week', ?::timestamptz at time zone 'UTC') + interval '7 days') at time zone 'UTC'
         )
         select to_char(c.week, 'YYYY-MM-DD') as week,
                ((e.occurred_at at time zone 'UTC')::date - c.week) / 7 as k,
                count(distinct c.user_id) as n
         from cohort c join events e on e.user_id = c.user_id
         group by 1, 2`,
        [from, to],
      );
      const sizes = await sql<{ week: string; n: string }>(
        `select to_char(date_trunc('week', occurred_at at time zone 'UTC'), 'YYYY-MM-DD') as week, count(*) as n
         from events where name = 'user.registered'
           and occurred_at >= date_trunc('week', ?::timestamptz at time zone 'UTC') at time zone 'UTC'
           and occurred_at < (date_trunc('week', ?::timestamptz at time zone 'UTC') + interval '7 days') at time zone 'UTC'
         group by 1 order by 1`,
        [from, to],
      );
      const active = new Map(raw.map((row) => [`${row.week} ${row.k}`, Number(row.n)]));
      const today = Date.parse(iso(now).slice(0, 10));
      const expected = sizes.map(({ week, n }) => {
        const begun = Math.min(weeks, Math.floor((today - Date.parse(week)) / (7 * DAY)) + 1);
        const counts = Array.from({ length: begun }, (_, k) => active.get(`${week} ${k}`) ?? 0);
        return {
          week: `${week}T00:00:00.000Z`,
          users: Number(n),
          active: counts,
          rates: counts.map((c) => c / Number(n)),
        };
      });
      expect(cohorts).toEqual(expected);
      // Every user is active in the week they registered (the registration itself).
      expect(cohorts.every((cohort) => cohort.active[0] === cohort.users)).toBe(true);
      expect(cohorts.at(-1)!.active.length).toBeLessThan(weeks);
    });

    it("refuses bad retention input with BAD_USER_INPUT naming the field", async () => {
      for (const [variables, field] of [
        [{ from: iso(from), to: iso(to), weeks: 0 }, "weeks"],
        [{ from: iso(from), to: iso(to), weeks: 27 }, "weeks"],
        [{ from: iso(to), to: iso(from) }, "from"],
        [{ from: iso(from), to: iso(new Date(from.getTime() + 367 * DAY)) }, "to"],
      ] as const) {
        const response = await env.request(RetentionCohortsDocument, variables, { token: admin.token });
        expect([field, codesOf(response)]).toEqual([field, ["BAD_USER_INPUT"]]);
        expect(response.errors![0]!.extensions!.field).toBe(field);
      }
      const user = await register(env, uniqueEmail("cohort-peeker"));
      const forbidden = await env.request(
        RetentionCohortsDocument,
        { from: iso(from), to: iso(to) },
        { token: user.token },
      );
      expect(codesOf(forbidden)).toEqual(["FORBIDDEN"]);
    });
  });

  describe("ingestion", () => {
    it("records a batch of events all or none, naming the first bad one", async () => {
      const user = await register(env, uniqueEmail("batcher"));
      const before = await settled(user);
      const inputs = Array.from({ length: 100 }, (_, i) => ({ name: "batch.item", properties: { i } }));
      const recorded = await env.request(TrackEventsDocument, { inputs }, { token: user.token });
      expect(recorded.errors).toBeUndefined();
      expect(recorded.data!.trackEvents).toBe(100);
      expect((await activity(user)).eventCount).toBe(before + 100);

      const bad = await env.request(
        TrackEventsDocument,
        { inputs: [{ name: "ok.event" }, { name: "Not A Name" }] },
        { token: user.token },
      );
      expect(codesOf(bad)).toEqual(["BAD_USER_INPUT"]);
      expect(bad.errors![0]!.extensions!.field).toBe("inputs.1.name");
      const tooMany = await env.request(
        TrackEventsDocument,
        { inputs: [...inputs, { name: "one.more" }] },
        { token: user.token },
      );
      expect(tooMany.errors![0]!.extensions!.field).toBe("inputs");
      const reserved = await env.request(
        TrackEventsDocument,
        { inputs: [{ name: "user.deleted" }] },
        { token: user.token },
      );
      expect(reserved.errors![0]!.extensions!.field).toBe("inputs.0.name");
      expect((await activity(user)).eventCount).toBe(before + 100);
      expect(await countOf("ok.event")).toBe(0);
    });

    it("refuses a NUL character in properties, which PostgreSQL cannot store", async () => {
      const user = await register(env, uniqueEmail("nul"));
      const response = await env.request(
        TrackEventDocument,
        { input: { name: "nul.test", properties: { ["k\u0000"]: "v" } } },
        { token: user.token },
      );
      expect(codesOf(response)).toEqual(["BAD_USER_INPUT"]);
      expect(response.errors![0]!.extensions!.field).toBe("input.properties");
    });

    it("fails only the caller whose events cannot be stored when calls share a batch", async () => {
      const ingester = new EventIngester(env.supergraph.subgraphs.analytics.db);
      const name = `shared.batch_n${process.pid}`;
      const event = (properties: Record<string, unknown>) =>
        Object.assign(new TrackedEvent(), { userId: admin.id, name, properties });
      // Submitted in one turn of the event loop: one batch, whose write fails on the NUL.
      const results = await Promise.allSettled([
        ingester.track([event({ n: 1 })]),
        ingester.track([event({ bad: "\u0000" })]),
        ingester.track([event({ n: 2 }), event({ n: 3 })]),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect(results.map((r) => (r.status === "fulfilled" ? r.value : null))).toEqual([1, null, 2]);
      await ingester.flush();
      expect(await countOf(name)).toBe(3);
    });

    it("records every one of many concurrent events once (they share transactions)", async () => {
      const user = await register(env, uniqueEmail("concurrent"));
      const before = await settled(user);
      const name = `burst.n${process.pid}`;
      const results = await Promise.all(
        Array.from({ length: 60 }, () =>
          env.request(TrackEventDocument, { input: { name } }, { token: user.token }),
        ),
      );
      expect(results.map((r) => r.data?.trackEvent)).toEqual(Array(60).fill(true));
      expect((await activity(user)).eventCount).toBe(before + 60);
      expect(await countOf(name)).toBe(60);
      const [raw] = await sql<{ n: string }>(`select count(*) as n from events where name = ?`, [name]);
      expect(Number(raw!.n)).toBe(60);
    });

    it("lets an API key with analytics:write track for its owner, and no other key", async () => {
      const owner = await register(env, uniqueEmail("key-owner"));
      await settled(owner);
      const keyWith = (scopes: string[]) => apiKeyHeaders(env, owner, scopes);
      const before = (await activity(owner)).eventCount;
      const writer = await keyWith(["analytics:write"]);
      const name = `server.side_n${process.pid}`;
      expect((await env.request(TrackEventDocument, { input: { name } }, writer)).data?.trackEvent).toBe(
        true,
      );
      expect(
        (await env.request(TrackEventsDocument, { inputs: [{ name }, { name }] }, writer)).data?.trackEvents,
      ).toBe(2);
      const reader = await keyWith(["analytics:read"]);
      expect(codesOf(await env.request(TrackEventDocument, { input: { name } }, reader))).toEqual([
        "FORBIDDEN",
      ]);
      expect((await activity(owner)).eventCount).toBe(before + 3);
      expect(await countOf(name)).toBe(3);
    });

    it("records the platform's own domain events under their analytics names, without their payloads", async () => {
      const user = await register(env, uniqueEmail("domain"));
      const names = [
        "user.profile_updated",
        "user.marketing_consent_changed",
        "auth.password_changed",
      ] as const;
      const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await countOf(n)])));
      await eventually(async () =>
        expect(
          (await env.request(UpdateProfileDocument, { input: { bio: "hi" } }, { token: user.token })).errors,
        ).toBeUndefined(),
      );
      expect(
        (
          await env.request(
            UpdatePreferencesDocument,
            { input: { marketingOptIn: true } },
            { token: user.token },
          )
        ).errors,
      ).toBeUndefined();
      expect(
        (
          await env.request(
            ChangePasswordDocument,
            { input: { currentPassword: PASSWORD, newPassword: `${PASSWORD}-2` } },
            { token: user.token },
          )
        ).data?.changePassword,
      ).toBe(true);
      await eventually(async () => {
        for (const name of names) expect([name, await countOf(name)]).toEqual([name, before[name] + 1]);
      });
      const stored = await sql<{ name: string; properties: Record<string, unknown> }>(
        `select name, properties from events where user_id = ? and name = any(?::text[]) order by name`,
        [user.id, `{${names.join(",")},auth.email_verification_requested}`],
      );
      expect(stored).toEqual([
        { name: "auth.email_verification_requested", properties: {} },
        { name: "auth.password_changed", properties: { reason: "changed" } },
        { name: "user.marketing_consent_changed", properties: { optedIn: true } },
        { name: "user.profile_updated", properties: {} },
      ]);
    });
  });

  describe("events raised by others", () => {
    it("count a password reset request without making its target look active", async () => {
      const user = await register(env, uniqueEmail("reset-target"));
      const before = await settled(user);
      const requests = await countOf("auth.password_reset_requested");
      // Anyone can ask for a reset for any address: that is not the user's activity.
      expect(
        (await env.request(RequestPasswordResetDocument, { email: user.email })).data?.requestPasswordReset,
      ).toBe(true);
      await eventually(async () => expect(await countOf("auth.password_reset_requested")).toBe(requests + 1));
      expect((await activity(user)).eventCount).toBe(before);
      expect(
        await sql(`select 1 from events where user_id = ? and name = 'auth.password_reset_requested'`, [
          user.id,
        ]),
      ).toHaveLength(0);
    });
  });

  describe("retention", () => {
    it("deletes raw events past the retention age while the insights keep their counts", async () => {
      const overviewOf = async () =>
        (
          await env.request(
            AnalyticsOverviewDocument,
            { from: iso(from), to: iso(to), limit: 20 },
            { token: admin.token },
          )
        ).data!.analyticsOverview;
      const series = async () =>
        (
          await env.request(
            EventSeriesDocument,
            { from: iso(from), to: iso(to), interval: "DAY" },
            { token: admin.token },
          )
        ).data!.eventSeries;
      const before = { overview: await overviewOf(), series: await series() };
      // One instant for the test's cutoff and both sweeps: an event a few seconds younger than 30
      // days must not cross the line between them.
      const now = new Date();
      const cutoff = new Date(now.getTime() - 30 * DAY);
      const [old] = await sql<{ n: string }>(`select count(*) as n from events where occurred_at < ?`, [
        cutoff,
      ]);
      const [recent] = await sql<{ n: string }>(`select count(*) as n from events where occurred_at >= ?`, [
        cutoff,
      ]);
      expect(Number(old!.n)).toBeGreaterThan(10_000);

      const sweeper = new RetentionSweeper(
        env.supergraph.subgraphs.analytics.db,
        createLogger("test", "silent"),
        {
          retentionDays: 30,
          batchSize: 4_000,
        },
      );
      expect(await sweeper.sweep(now)).toBe(Number(old!.n));
      const [left] = await sql<{ old: string; recent: string }>(
        `select count(*) filter (where occurred_at < ?) as old, count(*) filter (where occurred_at >= ?) as recent from events`,
        [cutoff, cutoff],
      );
      expect({ old: Number(left!.old), recent: Number(left!.recent) }).toEqual({
        old: 0,
        recent: Number(recent!.n),
      });
      expect({ overview: await overviewOf(), series: await series() }).toEqual(before);
      expect(await sweeper.sweep(now)).toBe(0);
    });
  });
});

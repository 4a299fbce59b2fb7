import {
  AnalyticsOverviewDocument,
  DeleteMyAccountDocument,
  EventSeriesDocument,
  TrackEventDocument,
} from "../../schema/generated/graphql";
import { DAY_MS as DAY, HOUR_MS as HOUR } from "../../subgraphs/analytics/services/time";
import { eventually } from "../support/async";
import { codesOf, type GraphQLResponse } from "../support/graphql-client";
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

// ADMIN insights through the router on real PostgreSQL, Redis and RabbitMQ: every number comes from
// the rollups kept in each event's transaction, checked exactly against events placed in known hours.

const ADMIN_EMAIL = `insights-root-${process.pid}@example.com`;

/** UTC midnight `daysAgo` days before now: inside trackEvent's 7-day window, away from today's registrations. */
const midnight = (daysAgo: number) => new Date(Math.floor(Date.now() / DAY) * DAY - daysAgo * DAY);
/** The Monday (UTC) of the week an instant falls in. */
const weekOf = (at: Date) => new Date(at.getTime() - ((at.getUTCDay() + 6) % 7) * DAY);
const iso = (at: Date) => at.toISOString();

describeWithServices(["postgres", "redis", "rabbitmq"], "analytics insights from rollups", () => {
  let env: TestSupergraph;
  let admin: SignedIn;
  let alice: SignedIn;
  let bob: SignedIn;
  let carol: SignedIn;
  const started = new Date(Date.now() - HOUR);
  const day0 = midnight(3);
  const day1 = new Date(day0.getTime() + DAY);
  const at = (day: Date, hours: number, minutes = 0) =>
    iso(new Date(day.getTime() + hours * HOUR + minutes * 60_000));

  const sql = <T>(query: string, params: unknown[] = []) => subgraphSql<T>(env, "analytics", query, params);

  const overview = (from: Date, to: Date, limit?: number | null, token = admin.token) =>
    env.request(AnalyticsOverviewDocument, { from: iso(from), to: iso(to), limit }, { token });

  const series = (interval: string, name?: string, from = day0, to = new Date(day0.getTime() + 2 * DAY)) =>
    env.request(
      EventSeriesDocument,
      { interval: interval as never, name, from: iso(from), to: iso(to) },
      { token: admin.token },
    );

  const track = async (user: SignedIn, name: string, occurredAt: string) => {
    const response = await env.request(
      TrackEventDocument,
      { input: { name, occurredAt } },
      { token: user.token },
    );
    expect(response.errors).toBeUndefined();
  };

  const fieldOf = (response: GraphQLResponse<unknown>) => response.errors?.[0]?.extensions?.field;

  beforeAll(async () => {
    env = await startTestSupergraph("services", { auth: { adminEmails: [ADMIN_EMAIL] } });
    admin = await firstAdmin(env, ADMIN_EMAIL);
    [alice, bob, carol] = (await Promise.all(
      ["alice", "bob", "carol"].map((n) => register(env, uniqueEmail(n))),
    )) as [SignedIn, SignedIn, SignedIn];

    // Day 0: alice 10:15 10:45 11:05 page.viewed + 10:20 signup.clicked, bob 10:30 page.viewed.
    // Day 1: bob 09:00 and carol 09:30 page.viewed.
    await track(alice, "page.viewed", at(day0, 10, 15));
    await track(alice, "page.viewed", at(day0, 10, 45));
    await track(alice, "page.viewed", at(day0, 11, 5));
    await track(alice, "signup.clicked", at(day0, 10, 20));
    await track(bob, "page.viewed", at(day0, 10, 30));
    await track(bob, "page.viewed", at(day1, 9));
    await track(carol, "page.viewed", at(day1, 9, 30));
    // The four registrations arrive as domain events.
    await eventually(async () =>
      expect((await overview(started, new Date(Date.now() + HOUR))).data?.analyticsOverview.newUsers).toBe(4),
    );
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  it("answers eventSeries per hour, day and week, with and without a name, zeros included", async () => {
    const hourly = await series("HOUR", "page.viewed");
    expect(hourly.errors).toBeUndefined();
    const buckets = hourly.data!.eventSeries;
    expect(buckets).toHaveLength(48);
    expect(buckets.every((b, i) => b.start === iso(new Date(day0.getTime() + i * HOUR)))).toBe(true);
    expect(buckets.filter((b) => b.count > 0)).toEqual([
      { start: at(day0, 10), count: 2 + 1 },
      { start: at(day0, 11), count: 1 },
      { start: at(day1, 9), count: 2 },
    ]);

    expect((await series("DAY", "page.viewed")).data!.eventSeries).toEqual([
      { start: iso(day0), count: 4 },
      { start: iso(day1), count: 2 },
    ]);
    expect((await series("DAY")).data!.eventSeries).toEqual([
      { start: iso(day0), count: 5 },
      { start: iso(day1), count: 2 },
    ]);
    expect((await series("DAY", "signup.clicked")).data!.eventSeries).toEqual([
      { start: iso(day0), count: 1 },
      { start: iso(day1), count: 0 },
    ]);
    expect((await series("DAY", "never.seen")).data!.eventSeries).toEqual([
      { start: iso(day0), count: 0 },
      { start: iso(day1), count: 0 },
    ]);

    const [week0, week1] = [weekOf(day0), weekOf(day1)];
    const weekly = (await series("WEEK", "page.viewed")).data!.eventSeries;
    expect(weekly).toEqual(
      week0.getTime() === week1.getTime()
        ? [{ start: iso(week0), count: 6 }]
        : [
            { start: iso(week0), count: 4 },
            { start: iso(week1), count: 2 },
          ],
    );

    // Hours overlapping [10:30, 11:30) of day 0: the 10:00 and 11:00 buckets.
    const partial = await series(
      "HOUR",
      "page.viewed",
      new Date(at(day0, 10, 30)),
      new Date(at(day0, 11, 30)),
    );
    expect(partial.data!.eventSeries).toEqual([
      { start: at(day0, 10), count: 3 },
      { start: at(day0, 11), count: 1 },
    ]);
    expect((await series("DAY", undefined, day0, day0)).data!.eventSeries).toEqual([]);
  });

  it("answers the overview: users, active users per day and top events", async () => {
    const past = await overview(day0, new Date(day0.getTime() + 2 * DAY));
    expect(past.errors).toBeUndefined();
    expect(past.data!.analyticsOverview).toEqual({
      totalUsers: 0, // all four registered today
      newUsers: 0,
      activeUsers: 3,
      dailyActiveUsers: [
        { start: iso(day0), count: 2 },
        { start: iso(day1), count: 2 },
      ],
      topEvents: [
        { name: "page.viewed", count: 6 },
        { name: "signup.clicked", count: 1 },
      ],
    });
    const top1 = await overview(day0, new Date(day0.getTime() + 2 * DAY), 1);
    expect(top1.data!.analyticsOverview.topEvents).toEqual([{ name: "page.viewed", count: 6 }]);

    const now = await overview(started, new Date(Date.now() + HOUR));
    const { totalUsers, newUsers, activeUsers, topEvents } = now.data!.analyticsOverview;
    // Domain events are usage too: each registration also asked for an e-mail verification.
    expect({ totalUsers, newUsers, activeUsers, topEvents }).toEqual({
      totalUsers: 4,
      newUsers: 4,
      activeUsers: 4,
      topEvents: [
        { name: "auth.email_verification_requested", count: 4 },
        { name: "user.registered", count: 4 },
      ],
    });
    const today = now.data!.analyticsOverview.dailyActiveUsers.find((b) => b.start === iso(midnight(0)));
    expect(today?.count).toBe(4);

    // The whole span: the three days plus today.
    const all = await overview(day0, new Date(Date.now() + HOUR));
    expect(all.data!.analyticsOverview).toMatchObject({ totalUsers: 4, newUsers: 4, activeUsers: 4 });
  });

  it("refuses bad input with BAD_USER_INPUT naming the field", async () => {
    const to = new Date(day0.getTime() + DAY);
    const reversed = await overview(to, day0);
    expect(codesOf(reversed)).toEqual(["BAD_USER_INPUT"]);
    expect(fieldOf(reversed)).toBe("from");
    const reversedSeries = await series("DAY", undefined, to, day0);
    expect([codesOf(reversedSeries), fieldOf(reversedSeries)]).toEqual([["BAD_USER_INPUT"], "from"]);

    const leapYear = await overview(day0, new Date(day0.getTime() + 366 * DAY));
    expect(leapYear.errors).toBeUndefined();
    const tooLong = await overview(day0, new Date(day0.getTime() + 366 * DAY + 1));
    expect([codesOf(tooLong), fieldOf(tooLong)]).toEqual([["BAD_USER_INPUT"], "to"]);
    const tooLongSeries = await series("HOUR", undefined, day0, new Date(day0.getTime() + 367 * DAY));
    expect([codesOf(tooLongSeries), fieldOf(tooLongSeries)]).toEqual([["BAD_USER_INPUT"], "to"]);

    for (const limit of [0, 101, -1]) {
      const response = await overview(day0, to, limit);
      expect([limit, codesOf(response), fieldOf(response)]).toEqual([limit, ["BAD_USER_INPUT"], "limit"]);
    }
    expect((await overview(day0, to, 100)).errors).toBeUndefined();
    expect((await overview(day0, to, null)).data!.analyticsOverview.topEvents).toHaveLength(2);

    for (const name of ["Page Viewed", "page..viewed", `a${".b".repeat(60)}`]) {
      const response = await series("DAY", name);
      expect([name, codesOf(response), fieldOf(response)]).toEqual([name, ["BAD_USER_INPUT"], "name"]);
    }

    // An unknown interval never reaches the subgraph: the router refuses the variable, naming it.
    const month = await series("MONTH", "page.viewed");
    expect(codesOf(month)).toEqual(["BAD_USER_INPUT"]);
    expect(month.errors![0]!.message).toContain("$interval");

    // Registrations are recorded by the platform; a client's copy would inflate the user counts.
    const forged = await env.request(
      TrackEventDocument,
      { input: { name: "user.registered" } },
      { token: alice.token },
    );
    expect([codesOf(forged), fieldOf(forged)]).toEqual([["BAD_USER_INPUT"], "input.name"]);
  });

  it("is for ADMIN only; an API key needs the admin scope", async () => {
    const to = new Date(day0.getTime() + DAY);
    expect(codesOf(await overview(day0, to, undefined, alice.token))).toEqual(["FORBIDDEN"]);
    expect(
      codesOf(
        await env.request(
          EventSeriesDocument,
          { interval: "DAY" as never, from: iso(day0), to: iso(to) },
          { token: alice.token },
        ),
      ),
    ).toEqual(["FORBIDDEN"]);
    expect(codesOf(await env.request(AnalyticsOverviewDocument, { from: iso(day0), to: iso(to) }))).toEqual([
      "UNAUTHENTICATED",
    ]);

    const keyWith = (scopes: string[]) => apiKeyHeaders(env, admin, scopes);
    const reader = await keyWith(["analytics:read"]);
    expect(
      codesOf(await env.request(AnalyticsOverviewDocument, { from: iso(day0), to: iso(to) }, reader)),
    ).toEqual(["FORBIDDEN"]);
    const adminKey = await keyWith(["admin"]);
    const viaKey = await env.request(AnalyticsOverviewDocument, { from: iso(day0), to: iso(to) }, adminKey);
    expect(viaKey.errors).toBeUndefined();
    expect(viaKey.data!.analyticsOverview.activeUsers).toBe(2);
  });

  it("erases a deleted account's days of activity and registration; other counts stay aggregated", async () => {
    const before = await overview(day0, new Date(day0.getTime() + 2 * DAY));
    expect(before.data!.analyticsOverview.activeUsers).toBe(3);
    expect(
      (await env.request(DeleteMyAccountDocument, { password: PASSWORD }, { token: carol.token })).data,
    ).toEqual({ deleteMyAccount: true });
    await eventually(async () =>
      expect(await sql("select 1 from events where user_id = ?", [carol.id])).toHaveLength(0),
    );
    expect(await sql("select 1 from user_activity_days where user_id = ?", [carol.id])).toHaveLength(0);
    expect(await sql("select 1 from user_totals where user_id = ?", [carol.id])).toHaveLength(0);

    const after = await overview(day0, new Date(day0.getTime() + 2 * DAY));
    expect(after.data!.analyticsOverview).toEqual({
      totalUsers: 0,
      newUsers: 0,
      activeUsers: 2,
      dailyActiveUsers: [
        { start: iso(day0), count: 2 },
        { start: iso(day1), count: 1 },
      ],
      topEvents: [
        { name: "page.viewed", count: 6 },
        { name: "signup.clicked", count: 1 },
      ],
    });
    const today = await overview(started, new Date(Date.now() + HOUR));
    expect(today.data!.analyticsOverview).toMatchObject({
      totalUsers: 3,
      newUsers: 3,
      activeUsers: 3,
    });
    // The deletion is counted without a user; the deleted user's other events stay aggregated.
    expect(today.data!.analyticsOverview.topEvents).toEqual([
      { name: "auth.email_verification_requested", count: 4 },
      { name: "user.registered", count: 3 },
      { name: "user.deleted", count: 1 },
    ]);
    expect((await series("DAY", "page.viewed")).data!.eventSeries).toEqual([
      { start: iso(day0), count: 4 },
      { start: iso(day1), count: 2 },
    ]);
  });
});

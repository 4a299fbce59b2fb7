import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from "type-graphql";

import { badUserInput } from "../../../platform/errors";
import * as insights from "../services/insights";
import { EVENT_NAME_PATTERN } from "../services/rollups";
import type { AnalyticsContext } from "./context";
import {
  AnalyticsOverview,
  EventCount,
  type InsightRange,
  Interval,
  RetentionCohort,
  TimeBucket,
} from "./insights.type";
import { EVENT_NAME_RULE } from "./track-event.input";

/** The longest range an insight covers: a leap year. */
export const MAX_RANGE_DAYS = 366;
const MAX_TOP_EVENTS = 100;
const MAX_RETENTION_WEEKS = 26;

const invalid = (field: string, message: string) => badUserInput(field, `${field}: ${message}`);

/** [from, to) with from ≤ to, at most MAX_RANGE_DAYS long; BAD_USER_INPUT names the field otherwise. */
export function validRange(from: Date, to: Date): InsightRange {
  if (from.getTime() > to.getTime()) throw invalid("from", "must not be after to");
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * 24 * 3600 * 1000)
    throw invalid("to", `must be at most ${MAX_RANGE_DAYS} days after from`);
  return { from, to };
}

@Resolver(() => AnalyticsOverview)
export class InsightsResolver {
  @Query(() => AnalyticsOverview, { description: "ADMIN" })
  // type-graphql prints arguments last-declared first: they are declared in reverse to read as in the API.
  analyticsOverview(@Arg("to") to: Date, @Arg("from") from: Date): AnalyticsOverview {
    return Object.assign(new AnalyticsOverview(), { range: validRange(from, to) });
  }

  @Query(() => [TimeBucket], {
    description: "ADMIN: events per bucket overlapping [from, to), zeros included",
  })
  eventSeries(
    @Ctx() ctx: AnalyticsContext,
    @Arg("interval", () => Interval) interval: Interval,
    @Arg("to") to: Date,
    @Arg("from") from: Date,
    @Arg("name", () => String, { nullable: true }) name: string | null | undefined,
  ): Promise<TimeBucket[]> {
    const range = validRange(from, to);
    if (!Object.values(Interval).includes(interval)) throw invalid("interval", "must be HOUR, DAY or WEEK");
    if (name !== undefined && name !== null && (name.length > 100 || !EVENT_NAME_PATTERN.test(name)))
      throw invalid("name", EVENT_NAME_RULE);
    return insights.eventSeries(ctx.em, range, interval, name ?? null);
  }

  @Query(() => [RetentionCohort], {
    description:
      "ADMIN: weekly cohorts (whole UTC weeks from Monday overlapping [from, to)) of users who registered then, oldest first, and their activity in the following weeks",
  })
  retentionCohorts(
    @Ctx() ctx: AnalyticsContext,
    @Arg("weeks", () => Int, { nullable: true, defaultValue: 8 }) weeks: number | null,
    @Arg("to") to: Date,
    @Arg("from") from: Date,
  ): Promise<RetentionCohort[]> {
    const range = validRange(from, to);
    if (weeks === null) weeks = 8;
    if (!Number.isInteger(weeks) || weeks < 1 || weeks > MAX_RETENTION_WEEKS)
      throw invalid("weeks", `must be between 1 and ${MAX_RETENTION_WEEKS}`);
    return insights.retentionCohorts(ctx.em, range, weeks);
  }

  @FieldResolver(() => Int, { description: "Accounts registered before `to` and not deleted" })
  totalUsers(@Root() overview: AnalyticsOverview, @Ctx() ctx: AnalyticsContext): Promise<number> {
    return insights.totalUsers(ctx.em, overview.range);
  }

  @FieldResolver(() => Int, { description: "Accounts registered within the range and not deleted" })
  newUsers(@Root() overview: AnalyticsOverview, @Ctx() ctx: AnalyticsContext): Promise<number> {
    return insights.newUsers(ctx.em, overview.range);
  }

  @FieldResolver(() => Int, { description: "Distinct users with an event on a UTC day of the range" })
  activeUsers(@Root() overview: AnalyticsOverview, @Ctx() ctx: AnalyticsContext): Promise<number> {
    return insights.activeUsers(ctx.em, overview.range);
  }

  @FieldResolver(() => Int, {
    description: "Distinct users with an event in the 7 UTC days ending with the range's last day",
  })
  weeklyActiveUsers(@Root() overview: AnalyticsOverview, @Ctx() ctx: AnalyticsContext): Promise<number> {
    return insights.activeUsersEnding(ctx.em, overview.range, 7);
  }

  @FieldResolver(() => Int, {
    description: "Distinct users with an event in the 30 UTC days ending with the range's last day",
  })
  monthlyActiveUsers(@Root() overview: AnalyticsOverview, @Ctx() ctx: AnalyticsContext): Promise<number> {
    return insights.activeUsersEnding(ctx.em, overview.range, 30);
  }

  @FieldResolver(() => [TimeBucket], { description: "One bucket per UTC day of the range" })
  dailyActiveUsers(@Root() overview: AnalyticsOverview, @Ctx() ctx: AnalyticsContext): Promise<TimeBucket[]> {
    return insights.dailyActiveUsers(ctx.em, overview.range);
  }

  @FieldResolver(() => [EventCount], { description: "Most frequent events of the range, most first" })
  topEvents(
    @Root() overview: AnalyticsOverview,
    @Ctx() ctx: AnalyticsContext,
    @Arg("limit", () => Int, { nullable: true, defaultValue: 10 }) limit: number | null,
  ): Promise<EventCount[]> {
    if (limit === null) limit = 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TOP_EVENTS)
      throw invalid("limit", `must be between 1 and ${MAX_TOP_EVENTS}`);
    return insights.topEvents(ctx.em, overview.range, limit);
  }
}

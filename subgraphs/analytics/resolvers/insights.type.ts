import { Field, Float, Int, ObjectType, registerEnumType } from "type-graphql";

export enum Interval {
  HOUR = "HOUR",
  DAY = "DAY",
  WEEK = "WEEK",
}
registerEnumType(Interval, { name: "Interval", description: "UTC buckets; weeks start on Monday" });

@ObjectType({ description: "A count over one time bucket" })
export class TimeBucket {
  @Field({ description: "Start of the bucket (UTC)" })
  start!: Date;

  @Field(() => Int, { description: "How many fell in the bucket" })
  count!: number;
}

@ObjectType({ description: "How often one event name occurred" })
export class EventCount {
  @Field({ description: "The event name, e.g. page.viewed" })
  name!: string;

  @Field(() => Int, { description: "How many times it occurred" })
  count!: number;
}

@ObjectType({ description: "Users who registered in one UTC week (Monday), and how many came back" })
export class RetentionCohort {
  @Field({ description: "Start of the registration week (UTC Monday)" })
  week!: Date;

  @Field(() => Int, { description: "Users who registered that week and still have an account" })
  users!: number;

  @Field(() => [Int], {
    description:
      "active[k]: of those users, how many had an event in week k after (k = 0: the registration week)",
  })
  active!: number[];

  @Field(() => [Float], { description: "rates[k] = active[k] / users" })
  rates!: number[];
}

/** A validated range [from, to): what every field of the overview is computed over. */
export interface InsightRange {
  from: Date;
  to: Date;
}

/** Each field is computed only when asked for, from the rollups, over `range`. */
@ObjectType({
  description:
    "Counts over [from, to): hours (events, registrations) or UTC days (active users) overlapping it",
})
export class AnalyticsOverview {
  range!: InsightRange;
}

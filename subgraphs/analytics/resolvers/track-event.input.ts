import { Field, InputType } from "type-graphql";
import { z } from "zod";
import { JSONObjectScalar } from "../../../platform/graphql/scalars";

@InputType()
export class TrackEventInput {
  @Field()
  name!: string;

  @Field(() => JSONObjectScalar, { nullable: true })
  properties?: Record<string, unknown> | null;

  @Field(() => Date, { nullable: true })
  occurredAt?: Date | null;
}

const MAX_PROPERTIES_BYTES = 4096;
// Client clocks drift; an event from further out than this is a bug or an attempt to skew the series.
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export const trackEventSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/, {
      error: "must be lower-case words joined by dots, e.g. page.viewed",
    })
    .max(100),
  properties: z
    .record(z.string(), z.unknown())
    .nullish()
    .refine((value) => Buffer.byteLength(JSON.stringify(value ?? {})) <= MAX_PROPERTIES_BYTES, {
      error: `must be at most ${MAX_PROPERTIES_BYTES} bytes of JSON`,
    }),
  occurredAt: z
    .date()
    .nullish()
    .refine(
      (value) =>
        !value ||
        (value.getTime() <= Date.now() + MAX_CLOCK_SKEW_MS && value.getTime() >= Date.now() - MAX_AGE_MS),
      {
        error: "must be within the last 7 days and not in the future",
      },
    ),
});

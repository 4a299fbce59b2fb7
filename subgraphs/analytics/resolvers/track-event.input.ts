import { Field, InputType } from "type-graphql";
import { z } from "zod";

import { JSONObjectScalar } from "../../../platform/graphql/scalars";
import { RESERVED_EVENT_NAMES } from "../events/domain-events";
import { EVENT_NAME_PATTERN } from "../services/rollups";

@InputType({ description: "An event a client reports" })
export class TrackEventInput {
  @Field({
    description: "Lower-case words joined by dots, e.g. page.viewed; platform event names are reserved",
  })
  name!: string;

  @Field(() => JSONObjectScalar, {
    nullable: true,
    description: "Anything about the event, up to 4096 bytes of JSON",
  })
  properties?: Record<string, unknown> | null;

  @Field(() => Date, {
    nullable: true,
    description: "When it happened, within the last 7 days; omitted: now",
  })
  occurredAt?: Date | null;
}

export const EVENT_NAME_RULE = "must be lower-case words joined by dots, e.g. page.viewed";

const MAX_PROPERTIES_BYTES = 4096;
// Client clocks drift; an event from further out than this is a bug or an attempt to skew the series.
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** The most events one `trackEvents` call takes. */
export const MAX_BATCH = 100;

export const trackEventSchema = z.object({
  name: z
    .string()
    .regex(EVENT_NAME_PATTERN, { error: EVENT_NAME_RULE })
    .max(100)
    // The platform records these from domain events; a client's copy would skew the user counts.
    .refine((name) => !RESERVED_EVENT_NAMES.has(name), { error: "is reserved for platform events" }),
  properties: z
    .record(z.string(), z.unknown())
    .nullish()
    // Serialised once for both checks (up to 100 events a call).
    .superRefine((value, ctx) => {
      const json = JSON.stringify(value ?? {});
      if (Buffer.byteLength(json) > MAX_PROPERTIES_BYTES)
        ctx.addIssue({ code: "custom", message: `must be at most ${MAX_PROPERTIES_BYTES} bytes of JSON` });
      // PostgreSQL's jsonb cannot hold U+0000 in a string or a key.
      if (json.includes("\\u0000"))
        ctx.addIssue({ code: "custom", message: "must not contain the NUL character (U+0000)" });
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

export const trackEventsSchema = z.object({
  inputs: z
    .array(trackEventSchema)
    .min(1, { error: "must hold at least one event" })
    .max(MAX_BATCH, { error: `must hold at most ${MAX_BATCH} events` }),
});

import { z } from "zod";

import { defineEvent } from "../../platform/events/event-bus";

// Events the user subgraph publishes.

/**
 * The profile as it is after a change (a whole snapshot). `revision` grows by one with each change,
 * under the profile row's lock: a copy keeps the snapshot with the highest. Optional because
 * events from before it existed lack it; consumers then fall back to `occurredAt`.
 */
export const ProfileUpdated = defineEvent(
  "user.profile.updated",
  1,
  z.object({
    userId: z.uuid(),
    displayName: z.string().min(1).max(100),
    locale: z.string().min(2).max(35),
    timezone: z.string().min(1).max(64),
    revision: z.number().int().min(1).optional(),
  }),
);

/**
 * The user opted in to or out of marketing messages. `revision` orders changes (it grows by one
 * with each change, under the profile row's lock): a consumer keeps the highest, so a redelivered
 * or late event never undoes a later choice, whatever the clocks of the replicas say.
 */
export const MarketingConsentChanged = defineEvent(
  "user.marketing-consent.changed",
  1,
  z.object({
    userId: z.uuid(),
    optedIn: z.boolean(),
    revision: z.number().int().min(1),
    changedAt: z.iso.datetime(),
  }),
);

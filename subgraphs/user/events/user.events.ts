import { z } from "zod";
import { defineEvent } from "../../../platform/events/event-bus";

/** Events the user subgraph publishes. */
export const ProfileUpdated = defineEvent(
  "user.profile.updated",
  1,
  z.object({
    userId: z.uuid(),
    displayName: z.string().min(1).max(100),
    locale: z.string().min(2).max(35),
    timezone: z.string().min(1).max(64),
  }),
);

/**
 * The user opted in to or out of marketing messages. `changedAt` orders changes: a consumer keeps
 * the newest, so a redelivered or late event never undoes a later choice.
 */
export const MarketingConsentChanged = defineEvent(
  "user.marketing-consent.changed",
  1,
  z.object({
    userId: z.uuid(),
    optedIn: z.boolean(),
    changedAt: z.iso.datetime(),
  }),
);

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

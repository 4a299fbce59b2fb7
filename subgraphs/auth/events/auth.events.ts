import { z } from "zod";
import { defineEvent } from "../../../platform/events/event-bus";

/** Events the auth subgraph publishes. Consumers import these definitions: one schema, one type. */
export const UserRegistered = defineEvent(
  "auth.user.registered",
  1,
  z.object({
    userId: z.uuid(),
    email: z.email(),
    displayName: z.string().min(1).max(100),
    locale: z.string().min(2).max(35),
  }),
);

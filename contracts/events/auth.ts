import { z } from "zod";

import { defineEvent } from "../../platform/events/event-bus";

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

/**
 * Carries the one-time token because the e-mail must: consumers put it in a link and nowhere else
 * (never in a log or a stored notification body).
 */
export const PasswordResetRequested = defineEvent(
  "auth.password-reset.requested",
  1,
  z.object({ userId: z.uuid(), email: z.email(), token: z.string().min(32), expiresAt: z.iso.datetime() }),
);

export const EmailVerificationRequested = defineEvent(
  "auth.email-verification.requested",
  1,
  z.object({ userId: z.uuid(), email: z.email(), token: z.string().min(32), expiresAt: z.iso.datetime() }),
);

export const PasswordChanged = defineEvent(
  "auth.password.changed",
  1,
  z.object({ userId: z.uuid(), email: z.email(), reason: z.enum(["changed", "reset"]) }),
);

/** The account is gone from auth; every other subgraph erases or anonymises what it holds of the user. */
export const UserDeleted = defineEvent("auth.user.deleted", 1, z.object({ userId: z.uuid() }));

/** Something the account owner should know about (a sign-in from a device never seen before). */
export const SecurityAlert = defineEvent(
  "auth.security.alert",
  1,
  z.object({
    userId: z.uuid(),
    email: z.email(),
    kind: z.enum(["new-device"]),
    ipAddress: z.string().max(64).nullable(),
    userAgent: z.string().max(512).nullable(),
  }),
);

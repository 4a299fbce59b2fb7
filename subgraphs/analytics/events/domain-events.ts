import {
  EmailVerificationRequested,
  PasswordChanged,
  PasswordResetRequested,
  SecurityAlert,
  UserRegistered,
} from "../../../contracts/events/auth";
import { MarketingConsentChanged, ProfileUpdated } from "../../../contracts/events/user";
import type { EventDefinition, PayloadOf } from "../../../platform/events/event-bus";
import { REGISTRATION_EVENT } from "../services/rollups";

/**
 * Every domain event is usage too: each is recorded under an analytics name (the catalogue's type
 * in the name pattern clients use) with only the properties below. Payloads are never copied
 * whole: they carry e-mail addresses and one-time tokens.
 */
interface Recorded<D extends EventDefinition> {
  definition: D;
  name: string;
  properties: (payload: PayloadOf<D>) => Record<string, unknown>;
  /**
   * Whether the event is the user's own doing, so it counts as their activity. A password reset
   * can be requested, and a new-device alert raised, by anyone who knows the address: those are
   * counted per hour with no user attached, or anyone could make any user look active.
   */
  byUser: boolean;
}

const recorded = <D extends EventDefinition>(
  definition: D,
  name: string,
  properties: (payload: PayloadOf<D>) => Record<string, unknown> = () => ({}),
  byUser = true,
): Recorded<D> => ({ definition, name, properties, byUser });

export const RECORDED_EVENTS = [
  recorded(UserRegistered, REGISTRATION_EVENT),
  recorded(EmailVerificationRequested, "auth.email_verification_requested"),
  recorded(PasswordResetRequested, "auth.password_reset_requested", undefined, false),
  recorded(PasswordChanged, "auth.password_changed", ({ reason }) => ({ reason })),
  recorded(SecurityAlert, "auth.security_alert", ({ kind }) => ({ kind }), false),
  recorded(ProfileUpdated, "user.profile_updated"),
  recorded(MarketingConsentChanged, "user.marketing_consent_changed", ({ optedIn }) => ({ optedIn })),
] as const;

/** Counted without a user (the account is gone): deletions per hour, nothing about whom. */
export const DELETION_EVENT = "user.deleted";

/** Names only the platform records; `trackEvent` refuses them so clients cannot skew the counts. */
export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set([
  ...RECORDED_EVENTS.map((event) => event.name),
  DELETION_EVENT,
]);

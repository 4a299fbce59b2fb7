import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";

import { MarketingConsentChanged, ProfileUpdated } from "../../../contracts/events/user";
import { notFound } from "../../../platform/errors";
import { type Theme, UserProfile } from "../entities/user-profile.entity";
import type { UserContext } from "../resolvers/context";

/** A change of the profile: a null or absent field is left as it is; an empty bio or avatarUrl clears it. */
export interface ProfileChanges {
  displayName?: string | null;
  bio?: string | null;
  avatarUrl?: string | null;
  locale?: string | null;
  timezone?: string | null;
}

/** A change of the preferences: a null or absent field is left as it is. */
export interface PreferenceChanges {
  theme?: Theme | null;
  language?: string | null;
  marketingOptIn?: boolean | null;
}

/** The request's unit of work and the outbox its events are staged in. */
type Writer = Pick<UserContext, "em" | "emit">;

const PROFILE_FIELDS = ["displayName", "bio", "avatarUrl", "locale", "timezone"] as const;

/** Applies the change and commits it with the ProfileUpdated snapshot; returns the profile as it is now. */
export function changeProfile(ctx: Writer, userId: string, changes: ProfileChanges): Promise<UserProfile> {
  return ctx.em.transactional(async (em) => {
    const locked = await lockedProfile(em, userId);
    for (const field of PROFILE_FIELDS) {
      const value = changes[field];
      if (value === undefined || value === null) continue;
      if (field === "bio" || field === "avatarUrl") locked[field] = value === "" ? null : value;
      else locked[field] = value;
    }
    locked.profileRevision += 1;
    // Other subgraphs keep copies (the notification subgraph's recipient data): they hear of it.
    ctx.emit(
      ProfileUpdated,
      {
        userId: locked.userId,
        displayName: locked.displayName,
        locale: locked.locale,
        timezone: locked.timezone,
        revision: locked.profileRevision,
      },
      em,
    );
    return locked;
  });
}

/** Applies the change and commits it (with MarketingConsentChanged when consent changed); returns the profile. */
export function changePreferences(
  ctx: Writer,
  userId: string,
  { theme, language, marketingOptIn }: PreferenceChanges,
): Promise<UserProfile> {
  return ctx.em.transactional(async (em) => {
    const locked = await lockedProfile(em, userId);
    if (theme) locked.theme = theme;
    if (language) locked.language = language;
    // Consent is what the notification subgraph sends marketing on: it hears of every change.
    if (typeof marketingOptIn === "boolean" && marketingOptIn !== locked.marketingOptIn) {
      locked.marketingOptIn = marketingOptIn;
      locked.marketingConsentRevision += 1;
      ctx.emit(
        MarketingConsentChanged,
        {
          userId: locked.userId,
          optedIn: marketingOptIn,
          revision: locked.marketingConsentRevision,
          changedAt: new Date().toISOString(),
        },
        em,
      );
    }
    return locked;
  });
}

/**
 * The user's profile, locked for the transaction: concurrent changes take turns, so each event's
 * snapshot holds every change before it and revisions never repeat.
 */
async function lockedProfile(em: EntityManager, userId: string): Promise<UserProfile> {
  return requireProfile(await em.findOne(UserProfile, { userId }, { lockMode: LockMode.PESSIMISTIC_WRITE }));
}

export function requireProfile(profile: UserProfile | null): UserProfile {
  // Profiles are created from the registration event; a moment after sign-up it may not exist yet.
  if (!profile) throw notFound("Profile not found");
  return profile;
}

import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { notFound } from "../../../platform/errors";
import {
  decodePosition,
  FirstArg,
  pageSize,
  pageSizeSchema,
  toConnection,
} from "../../../platform/graphql/page-info.type";
import { requireUser } from "../../../platform/graphql/context";
import { validateInput } from "../../../platform/graphql/validation";
import { UserProfile } from "../entities/user-profile.entity";
import { MarketingConsentChanged, ProfileUpdated } from "../../../contracts/events/user";
import type { UserContext } from "./context";
import { Preferences, Profile } from "./profile.type";
import { UpdatePreferencesInput, updatePreferencesSchema } from "./update-preferences.input";
import { UpdateProfileInput, updateProfileSchema } from "./update-profile.input";
import { UserConnection } from "./user-connection.type";
import { User, userRef } from "./user.type";
import { z } from "zod";
import { profilePage } from "../services/profile-pages";

const pageSchema = z.object({
  first: pageSizeSchema,
  search: z.string().max(100, { error: "must be at most 100 characters" }).nullish(),
});

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { nullable: true, description: "The signed-in user; null when not signed in" })
  me(@Ctx() ctx: UserContext): User | null {
    return ctx.identity.kind === "user" ? userRef(ctx.identity.userId) : null;
  }

  @Query(() => User, { nullable: true, description: "Self or ADMIN" })
  async user(@Arg("id", () => ID) id: string, @Ctx() ctx: UserContext): Promise<User | null> {
    return (await ctx.loaders.profiles.load(id)) ? userRef(id) : null;
  }

  @Query(() => UserConnection, {
    description: "ADMIN: every user, newest first, optionally filtered by display name",
  })
  async users(
    @Ctx() ctx: UserContext,
    @FirstArg() first: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
    @Arg("search", () => String, { nullable: true }) search?: string | null,
  ): Promise<UserConnection> {
    const valid = validateInput(pageSchema, { first: pageSize(first), search }, "");
    const page = await profilePage(ctx.em, {
      first: valid.first,
      after: decodePosition(after),
      search: search ?? null,
    });
    return toConnection(
      page,
      (row) => ({ createdAt: row.createdAt, id: row.userId }),
      (row) => {
        ctx.loaders.profiles.prime(row.userId, row);
        return userRef(row.userId);
      },
    );
  }

  @Mutation(() => User)
  async updateProfile(@Arg("input") input: UpdateProfileInput, @Ctx() ctx: UserContext): Promise<User> {
    const caller = requireUser(ctx);
    const changes = validateInput(updateProfileSchema, input);
    const profile = await ctx.em.transactional(async (em) => {
      const locked = await lockedProfile(em, caller.userId);
      for (const [field, value] of Object.entries(changes) as [
        keyof typeof changes,
        string | null | undefined,
      ][]) {
        if (value === undefined || value === null) continue;
        (locked as unknown as Record<string, string | null>)[field] =
          value === "" && (field === "bio" || field === "avatarUrl") ? null : value;
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
    ctx.loaders.profiles.prime(profile.userId, profile);
    return userRef(profile.userId);
  }

  @Mutation(() => User)
  async updatePreferences(
    @Arg("input") input: UpdatePreferencesInput,
    @Ctx() ctx: UserContext,
  ): Promise<User> {
    const caller = requireUser(ctx);
    const { theme, language, marketingOptIn } = validateInput(updatePreferencesSchema, input);
    const profile = await ctx.em.transactional(async (em) => {
      const locked = await lockedProfile(em, caller.userId);
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
    ctx.loaders.profiles.prime(profile.userId, profile);
    return userRef(profile.userId);
  }

  @FieldResolver(() => Profile)
  async profile(@Root() user: User, @Ctx() ctx: UserContext): Promise<Profile> {
    return requireProfile(await ctx.loaders.profiles.load(user.id));
  }

  @FieldResolver(() => Preferences)
  async preferences(@Root() user: User, @Ctx() ctx: UserContext): Promise<Preferences> {
    return requireProfile(await ctx.loaders.profiles.load(user.id));
  }
}

/**
 * The caller's profile, locked for the transaction: concurrent changes take turns, so each event's
 * snapshot holds every change before it and revisions never repeat.
 */
async function lockedProfile(em: EntityManager, userId: string): Promise<UserProfile> {
  return requireProfile(await em.findOne(UserProfile, { userId }, { lockMode: LockMode.PESSIMISTIC_WRITE }));
}

function requireProfile(profile: UserProfile | null): UserProfile {
  // Profiles are created from the registration event; a moment after sign-up it may not exist yet.
  if (!profile) throw notFound("Profile not found");
  return profile;
}

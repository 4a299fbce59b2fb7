import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { z } from "zod";

import { requireUser } from "../../../platform/graphql/context";
import { decodePosition, FirstArg, pageSize, toConnection } from "../../../platform/graphql/page-info.type";
import { validateInput } from "../../../platform/graphql/validation";
import { profilePage } from "../services/profile-pages";
import { changePreferences, changeProfile, requireProfile } from "../services/profiles";
import type { UserContext } from "./context";
import { Preferences, Profile } from "./profile.type";
import { UpdatePreferencesInput, updatePreferencesSchema } from "./update-preferences.input";
import { UpdateProfileInput, updateProfileSchema } from "./update-profile.input";
import { User, userRef } from "./user.type";
import { UserConnection } from "./user-connection.type";

const searchSchema = z.string().max(100, { error: "must be at most 100 characters" }).nullish();

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
    const size = pageSize(first);
    validateInput(searchSchema, search, "search");
    const page = await profilePage(ctx.em, {
      first: size,
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

  @Mutation(() => User, { description: "Changes the caller's profile" })
  async updateProfile(@Arg("input") input: UpdateProfileInput, @Ctx() ctx: UserContext): Promise<User> {
    const caller = requireUser(ctx);
    const profile = await changeProfile(ctx, caller.userId, validateInput(updateProfileSchema, input));
    ctx.loaders.profiles.prime(profile.userId, profile);
    return userRef(profile.userId);
  }

  @Mutation(() => User, { description: "Changes the caller's preferences" })
  async updatePreferences(
    @Arg("input") input: UpdatePreferencesInput,
    @Ctx() ctx: UserContext,
  ): Promise<User> {
    const caller = requireUser(ctx);
    const profile = await changePreferences(
      ctx,
      caller.userId,
      validateInput(updatePreferencesSchema, input),
    );
    ctx.loaders.profiles.prime(profile.userId, profile);
    return userRef(profile.userId);
  }

  @FieldResolver(() => Profile, { description: "Self or ADMIN" })
  async profile(@Root() user: User, @Ctx() ctx: UserContext): Promise<Profile> {
    return requireProfile(await ctx.loaders.profiles.load(user.id));
  }

  @FieldResolver(() => Preferences, { description: "Self or ADMIN" })
  async preferences(@Root() user: User, @Ctx() ctx: UserContext): Promise<Preferences> {
    return requireProfile(await ctx.loaders.profiles.load(user.id));
  }
}

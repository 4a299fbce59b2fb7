import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver } from "type-graphql";

import { isUuid } from "../../../platform/database/loaders";
import { AccountErasure as ErasureRow } from "../entities/account-erasure.entity";
import { AccountErasureStep } from "../entities/account-erasure-step.entity";
import type { AuthContext } from "./context";

/** The subgraphs that hold user data and confirm its erasure (consumers of auth.user.deleted). */
export const ERASING_SUBGRAPHS = ["user", "notification", "analytics"] as const;

@ObjectType({ description: "One subgraph's part of an account erasure" })
export class ErasureStep {
  @Field({ description: "The subgraph that holds some of the user's data: user, notification or analytics" })
  subgraph!: string;

  @Field(() => Date, { nullable: true, description: "Null until the subgraph confirmed" })
  completedAt!: Date | null;

  @Field(() => Int, {
    nullable: true,
    description: "How many records the subgraph erased; null until it confirmed",
  })
  erasedRecords!: number | null;
}

@ObjectType({ description: "A deleted account's erasure across the subgraphs" })
export class AccountErasure {
  @Field(() => ID, { description: "The deleted account" })
  userId!: string;

  @Field({ description: "When the account was deleted" })
  requestedAt!: Date;

  @Field({ description: "True once every subgraph confirmed" })
  complete!: boolean;

  @Field(() => [ErasureStep], { description: "One per subgraph that holds user data" })
  steps!: ErasureStep[];
}

@Resolver()
export class ErasureResolver {
  @Query(() => AccountErasure, {
    nullable: true,
    description: "ADMIN: how far a deleted account's erasure got",
  })
  async accountErasure(
    @Arg("userId", () => ID) userId: string,
    @Ctx() ctx: AuthContext,
  ): Promise<AccountErasure | null> {
    if (!isUuid(userId)) return null;
    const erasure = await ctx.em.findOne(ErasureRow, { userId });
    if (!erasure) return null;
    const done = new Map(
      (await ctx.em.find(AccountErasureStep, { userId })).map((step) => [step.subgraph, step]),
    );
    const steps = ERASING_SUBGRAPHS.map((subgraph) => ({
      subgraph,
      completedAt: done.get(subgraph)?.completedAt ?? null,
      erasedRecords: done.get(subgraph)?.erasedRecords ?? null,
    }));
    return {
      userId,
      requestedAt: erasure.requestedAt,
      complete: steps.every((step) => step.completedAt !== null),
      steps,
    };
  }
}

import { UserDeleted, UserRegistered } from "../../../contracts/events/auth";
import { ErasureCompleted } from "../../../contracts/events/privacy";
import { consumer, on } from "../../../platform/events/consumer";
import { markErased, userErased } from "../../../platform/events/erasure";
import { UserProfile } from "../entities/user-profile.entity";

/** A registration creates the profile; an account deletion erases it. */
export function userSubscriptions() {
  return [
    consumer("user.profiles", [
      on(UserRegistered, async (payload, { em }) => {
        if (await userErased(em, payload.userId)) return;
        const profile = Object.assign(new UserProfile(), {
          userId: payload.userId,
          displayName: payload.displayName,
          locale: payload.locale,
        });
        await em.upsert(UserProfile, profile, { onConflictFields: ["userId"], onConflictAction: "ignore" });
      }),
      on(UserDeleted, async ({ userId }, { em, emit }) => {
        await markErased(em, userId);
        const erasedRecords = await em.nativeDelete(UserProfile, { userId });
        emit(ErasureCompleted, { userId, subgraph: "user", erasedRecords });
      }),
    ]),
  ];
}

import { handle, subscription } from "../../../platform/events/event-bus";
import type { ConsumerServices } from "../../../platform/subgraph";
import { UserRegistered } from "../../auth/events/auth.events";
import { UserProfile } from "../entities/profile.entity";
import type { UserDeps } from "../resolvers/context";

/** A registration creates the profile with the display name given at sign-up. Redelivery changes nothing. */
export function userSubscriptions({ db }: ConsumerServices<UserDeps>) {
  return [
    subscription("user.profiles", [
      handle(UserRegistered, async (payload) => {
        const em = db.orm.em.fork();
        const profile = new UserProfile();
        profile.userId = payload.userId;
        profile.displayName = payload.displayName;
        profile.locale = payload.locale;
        await em.upsert(UserProfile, profile, { onConflictFields: ["userId"], onConflictAction: "ignore" });
      }),
    ]),
  ];
}

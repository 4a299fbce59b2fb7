import { consumer, on } from "../../../platform/events/consumer";
import { markErased, userErased } from "../../../platform/events/erasure";
import { ErasureCompleted } from "../../../platform/events/privacy.events";
import { UserDeleted, UserRegistered } from "../../auth/events/auth.events";
import { TrackedEvent } from "../entities/tracked-event.entity";

/** Domain events are usage too: each is recorded once. A deleted account's raw events are erased. */
export function analyticsSubscriptions() {
  return [
    consumer("analytics.domain-events", [
      on(UserRegistered, async (payload, { em, event }) => {
        if (await userErased(em, payload.userId)) return;
        em.persist(
          Object.assign(new TrackedEvent(), {
            userId: payload.userId,
            name: "user.registered",
            occurredAt: new Date(event.occurredAt),
            sourceEventId: event.id,
          }),
        );
      }),
      on(UserDeleted, async ({ userId }, { em, emit }) => {
        await markErased(em, userId);
        const erasedRecords = await em.nativeDelete(TrackedEvent, { userId });
        emit(ErasureCompleted, { userId, subgraph: "analytics", erasedRecords });
      }),
    ]),
  ];
}

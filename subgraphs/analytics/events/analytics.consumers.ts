import { consumer, on } from "../../../platform/events/consumer";
import { markErased, userErased } from "../../../platform/events/erasure";
import { ErasureCompleted } from "../../../platform/events/privacy.events";
import { UserDeleted, UserRegistered } from "../../auth/events/auth.events";
import { TrackedEvent } from "../entities/tracked-event.entity";
import { eraseFromRollups, recordEvents, REGISTRATION_EVENT } from "../services/rollups";

/**
 * Domain events are usage too: each is recorded once, with the rollups in the same transaction.
 * A deleted account's raw events and days of activity are erased, and its registration no longer counts.
 */
export function analyticsSubscriptions() {
  return [
    consumer("analytics.domain-events", [
      on(UserRegistered, async (payload, { em, event }) => {
        if (await userErased(em, payload.userId)) return;
        await recordEvents(em, [
          Object.assign(new TrackedEvent(), {
            userId: payload.userId,
            name: REGISTRATION_EVENT,
            occurredAt: new Date(event.occurredAt),
            sourceEventId: event.id,
          }),
        ]);
      }),
      on(UserDeleted, async ({ userId }, { em, emit }) => {
        await markErased(em, userId);
        await eraseFromRollups(em, userId);
        const erasedRecords = await em.nativeDelete(TrackedEvent, { userId });
        emit(ErasureCompleted, { userId, subgraph: "analytics", erasedRecords });
      }),
    ]),
  ];
}

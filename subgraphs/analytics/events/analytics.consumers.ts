import { UserDeleted } from "../../../contracts/events/auth";
import { ErasureCompleted } from "../../../contracts/events/privacy";
import { consumer, type EventHandlerSpec, on } from "../../../platform/events/consumer";
import { markErased, userErased } from "../../../platform/events/erasure";
import { TrackedEvent } from "../entities/tracked-event.entity";
import { eraseFromRollups, recordEvents } from "../services/rollups";
import { DELETION_EVENT, RECORDED_EVENTS } from "./domain-events";

/**
 * Every domain event is recorded once (keyed by its id), with the rollups in the same transaction.
 * A deleted account's raw events, totals and days of activity are erased, its registration no
 * longer counts, and the deletion itself is counted without a user.
 */
export function analyticsSubscriptions() {
  const recorders: EventHandlerSpec[] = RECORDED_EVENTS.map(({ definition, name, properties, byUser }) =>
    on(definition, async (payload, { em, event }) => {
      const userId = (payload as { userId: string }).userId;
      if (await userErased(em, userId)) return;
      await recordEvents(em, [
        Object.assign(new TrackedEvent(), {
          userId: byUser ? userId : null,
          name,
          properties: (properties as (p: typeof payload) => Record<string, unknown>)(payload),
          occurredAt: new Date(event.occurredAt),
          sourceEventId: event.id,
        }),
      ]);
    }),
  );
  return [
    consumer("analytics.domain-events", [
      ...recorders,
      on(UserDeleted, async ({ userId }, { em, emit, event }) => {
        await markErased(em, userId);
        await eraseFromRollups(em, userId);
        const erasedRecords = await em.nativeDelete(TrackedEvent, { userId });
        await recordEvents(em, [
          Object.assign(new TrackedEvent(), {
            userId: null,
            name: DELETION_EVENT,
            occurredAt: new Date(event.occurredAt),
            sourceEventId: event.id,
          }),
        ]);
        emit(ErasureCompleted, { userId, subgraph: "analytics", erasedRecords });
      }),
    ]),
  ];
}

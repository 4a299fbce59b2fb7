import { handle, subscription } from "../../../platform/events/event-bus";
import type { ConsumerServices } from "../../../platform/subgraph";
import { UserRegistered } from "../../auth/events/auth.events";
import { TrackedEvent } from "../entities/tracked-event.entity";
import type { AnalyticsDeps } from "../resolvers/context";

/** Domain events are usage too: each is recorded once, keyed by its event id. */
export function analyticsSubscriptions({ db }: ConsumerServices<AnalyticsDeps>) {
  return [
    subscription("analytics.domain-events", [
      handle(UserRegistered, async (payload, event) => {
        const em = db.orm.em.fork();
        const row = Object.assign(new TrackedEvent(), {
          userId: payload.userId,
          name: "user.registered",
          occurredAt: new Date(event.occurredAt),
          sourceEventId: event.id,
        });
        await em.upsert(TrackedEvent, row, {
          onConflictFields: ["sourceEventId"],
          onConflictAction: "ignore",
        });
      }),
    ]),
  ];
}

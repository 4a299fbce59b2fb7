import { ErasureCompleted } from "../../../contracts/events/privacy";
import { consumer, on } from "../../../platform/events/consumer";
import { AccountErasureStep } from "../entities/account-erasure-step.entity";

/** Each subgraph's erasure confirmation is recorded, so an ADMIN can see a deletion finish everywhere. */
export function authSubscriptions() {
  return [
    consumer("auth.erasures", [
      on(ErasureCompleted, async (payload, { em }) => {
        const step = Object.assign(new AccountErasureStep(), {
          userId: payload.userId,
          subgraph: payload.subgraph,
          erasedRecords: payload.erasedRecords,
        });
        await em.upsert(AccountErasureStep, step, {
          onConflictFields: ["userId", "subgraph"],
          onConflictAction: "ignore",
        });
      }),
    ]),
  ];
}

import { z } from "zod";

import { SUBGRAPH_NAMES } from "../../platform/config";
import { defineEvent } from "../../platform/events/event-bus";

/**
 * Published by each subgraph once it has erased (or anonymised) a deleted user's data. One shared
 * contract, because every data-holding subgraph produces it and the auth subgraph tracks them.
 */
export const ErasureCompleted = defineEvent(
  "privacy.erasure.completed",
  1,
  z.object({ userId: z.uuid(), subgraph: z.enum(SUBGRAPH_NAMES), erasedRecords: z.number().int().min(0) }),
);

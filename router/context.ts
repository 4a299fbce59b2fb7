import type { BaseContext } from "@apollo/server";

import type { ClientInfo, Identity } from "../platform/identity/identity";
import type { RefusalNotes } from "./rate-limit.plugin";

export interface RouterContext extends BaseContext {
  identity: Identity;
  /** The token verified but its session could not be checked (store unreachable): mutations are refused. */
  unconfirmed: boolean;
  correlationId: string;
  client: ClientInfo;
  /** Where an operation that ends as a refusal is noted, to be charged (router/rate-limit-gate.ts). */
  refusals?: RefusalNotes;
  /** The client's Idempotency-Key: forwarded with the subgraph fetches that run its mutation. */
  idempotencyKey?: string;
  /** A subgraph answered this request's mutation from its idempotency record (the first outcome). */
  idempotentReplay?: boolean;
  /** Signed once per request, on the first subgraph fetch, then reused. */
  assertion?: Promise<string>;
}

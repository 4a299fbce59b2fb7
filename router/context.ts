import type { BaseContext } from "@apollo/server";
import type { Identity } from "../platform/identity/identity";

export interface RouterContext extends BaseContext {
  identity: Identity;
  correlationId: string;
  /** Signed once per request, on the first subgraph fetch, then reused. */
  assertion?: Promise<string | null>;
}

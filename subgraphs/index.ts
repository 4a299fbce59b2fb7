import type { SubgraphName } from "../platform/config";
import type { AnySubgraphDefinition } from "../platform/subgraph";
import { authSubgraph } from "./auth";
import { userSubgraph } from "./user";
import { notificationSubgraph } from "./notification";
import { analyticsSubgraph } from "./analytics";

/** Every subgraph, by name: the all-in-one process, the CLI and the schema pipeline iterate this. */
export const SUBGRAPHS: Record<SubgraphName, AnySubgraphDefinition> = {
  auth: authSubgraph,
  user: userSubgraph,
  notification: notificationSubgraph,
  analytics: analyticsSubgraph,
};

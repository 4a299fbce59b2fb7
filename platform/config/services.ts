/** The services ORION runs, and the one spelling of the variables that name each one's port and database. */

export const SUBGRAPH_NAMES = ["auth", "user", "notification", "analytics"] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];
export type ServiceName = "router" | SubgraphName;
export const SERVICE_NAMES: readonly ServiceName[] = ["router", ...SUBGRAPH_NAMES];

export const DEFAULT_PORTS: Record<ServiceName, number> = {
  router: 3000,
  auth: 3001,
  user: 3002,
  notification: 3003,
  analytics: 3004,
};

/** The variable naming each service's port, and each subgraph's database: one spelling, used everywhere. */
export const PORT_VARIABLES = {
  router: "ROUTER_PORT",
  auth: "AUTH_PORT",
  user: "USER_PORT",
  notification: "NOTIFICATION_PORT",
  analytics: "ANALYTICS_PORT",
} as const satisfies Record<ServiceName, string>;
export const DATABASE_VARIABLES = {
  auth: "AUTH_DATABASE_URL",
  user: "USER_DATABASE_URL",
  notification: "NOTIFICATION_DATABASE_URL",
  analytics: "ANALYTICS_DATABASE_URL",
} as const satisfies Record<SubgraphName, string>;

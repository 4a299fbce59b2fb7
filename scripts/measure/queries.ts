import { type RunningSupergraph, startSupergraph } from "../../cli/supergraph";
import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import {
  login,
  mapLimit,
  ME_QUERY,
  register,
  request,
  type SignedIn,
  USERS_QUERY,
  waitForConsumers,
} from "../support/graphql-client";
import { within } from "../support/timing";

/** Part 4: SQL statements per request, per subgraph, counted in-process with RunningSubgraph.db.queryCount(). */

export interface QueryMeasurement {
  label: string;
  caller: string;
  /** Statements per measured request, one entry per run. */
  counts: Record<SubgraphName, number[]>;
  /** The statements of the last measured run (parameters not shown). */
  statements: Record<SubgraphName, string[]>;
  answer: string;
}

export interface QueryResult {
  users: number;
  measurements: QueryMeasurement[];
}

const RUNS = 5;
const USERS = 25;

export async function measureQueries(
  runId: string,
  dataDir: string,
  log: (m: string) => void,
): Promise<QueryResult> {
  log(`queries: starting the supergraph in-process (embedded, ORION data dir ${dataDir})`);
  const starting = startSupergraph({
    infrastructure: { kind: "embedded", dataDir },
    ports: { router: 0, auth: 0, user: 0, notification: 0, analytics: 0 },
    // Its logs would go to this script's stdout, into the table; errors still show.
    logLevel: "error",
  });
  if (!(await within(starting, 120_000))) {
    // Stop it if it ever comes up; main() kills leftover child processes before exiting.
    void starting.then((supergraph) => supergraph.stop()).catch(() => undefined);
    throw new Error("the in-process supergraph did not start within 120 s");
  }
  const supergraph = await starting;
  try {
    return await measure(supergraph, runId, log);
  } finally {
    if (!(await within(supergraph.stop(), 60_000)))
      log("queries: supergraph.stop() did not finish within 60 s");
    else log("queries: supergraph stopped");
  }
}

async function measure(
  supergraph: RunningSupergraph,
  runId: string,
  log: (m: string) => void,
): Promise<QueryResult> {
  const url = supergraph.routerUrl;
  const statements = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, [] as string[]])) as Record<
    SubgraphName,
    string[]
  >;
  for (const name of SUBGRAPH_NAMES) {
    // Read-only tap beside the product's own counter, to show which statements ran.
    const config = supergraph.subgraphs[name].db.orm.config;
    const original = config.get("onQuery");
    config.set("onQuery", (sql: string, params: unknown[]) => {
      statements[name].push(sql);
      return original(sql, params);
    });
  }

  const adminEmail = `measure-${runId}-admin@example.com`;
  const admin = await register(url, adminEmail, "Measure Admin");
  await waitForConsumers(url, admin);
  await supergraph.subgraphs.auth.db.orm.em
    .fork()
    .getConnection()
    .execute("update users set roles = '{USER,ADMIN}' where email = ?", [adminEmail]);
  const adminSession = await login(url, adminEmail);
  if (!adminSession.roles.includes("ADMIN")) {
    throw new Error(`login after the role update still returns roles ${JSON.stringify(adminSession.roles)}`);
  }
  log(`queries: ADMIN signed in; registering ${USERS} users (bcrypt cost 12, ~0.3 s each)`);
  const users = await mapLimit(
    Array.from({ length: USERS }, (_, i) => i),
    5,
    (i) =>
      register(url, `measure-${runId}-user${i}@example.com`, `Measure User ${String(i).padStart(2, "0")}`),
  );
  await mapLimit(users, 5, (user) => waitForConsumers(url, user));
  log("queries: every registration consumed by user, notification and analytics");

  const count = async (
    label: string,
    query: string,
    caller: SignedIn,
    callerLabel: string,
  ): Promise<QueryMeasurement> => {
    const first = await request<unknown>(url, query, { token: caller.token }); // warm: the first request plans the query
    const counts = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, [] as number[]])) as Record<
      SubgraphName,
      number[]
    >;
    for (let run = 0; run < RUNS; run++) {
      const before = snapshot(supergraph);
      for (const name of SUBGRAPH_NAMES) statements[name].length = 0;
      await request<unknown>(url, query, { token: caller.token });
      const after = snapshot(supergraph);
      for (const name of SUBGRAPH_NAMES) counts[name].push(after[name] - before[name]);
    }
    const last = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, [...statements[name]]])) as Record<
      SubgraphName,
      string[]
    >;
    return { label, caller: callerLabel, counts, statements: last, answer: summarize(first) };
  };

  const measurements = [
    await count(
      "(a) `me` with profile, preferences, notifications(first: 5), unread count, activity",
      ME_QUERY,
      users[0]!,
      "USER",
    ),
    await count("(a) the same `me` query", ME_QUERY, adminSession, "ADMIN"),
    await count(
      "(b) `users(first: 20)` with email, profile, notifications(first: 5), unread count, activity",
      USERS_QUERY,
      adminSession,
      "ADMIN",
    ),
  ];
  return { users: USERS + 1, measurements };
}

function snapshot(supergraph: RunningSupergraph): Record<SubgraphName, number> {
  return Object.fromEntries(
    SUBGRAPH_NAMES.map((name) => [name, supergraph.subgraphs[name].db.queryCount()]),
  ) as Record<SubgraphName, number>;
}

/** A one-line check that the answer is what the query asked for. */
function summarize(data: unknown): string {
  const value = data as {
    me?: {
      notifications: { totalCount: number; edges: unknown[] };
      unreadNotificationCount: number;
      activity: { eventCount: number };
    };
    users?: {
      edges: { node: { notifications: { totalCount: number }; activity: { eventCount: number } } }[];
    };
  };
  if (value.me) {
    const me = value.me;
    return `notifications.totalCount ${me.notifications.totalCount}, edges ${me.notifications.edges.length}, unread ${me.unreadNotificationCount}, activity.eventCount ${me.activity.eventCount}`;
  }
  if (value.users) {
    const edges = value.users.edges;
    const notifications = edges.reduce((sum, edge) => sum + edge.node.notifications.totalCount, 0);
    const events = edges.reduce((sum, edge) => sum + edge.node.activity.eventCount, 0);
    return `${edges.length} users; notifications.totalCount summed ${notifications}, activity.eventCount summed ${events}`;
  }
  return JSON.stringify(data).slice(0, 200);
}

import { sleep } from "./timing";

/** A bounded GraphQL client and the traffic every measurement sends through the router. */

export interface GraphqlResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const REQUEST_TIMEOUT_MS = 15_000;

export async function post<T>(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; token?: string } = {},
): Promise<GraphqlResponse<T>> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      // Apollo's CSRF prevention refuses simple requests; a JSON content type is what a client sends.
      "content-type": "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: JSON.stringify({ query, variables: options.variables ?? {} }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  try {
    return JSON.parse(text) as GraphqlResponse<T>;
  } catch {
    throw new Error(`HTTP ${response.status} from ${url} is not JSON: ${text.slice(0, 300)}`);
  }
}

export function describeErrors(response: GraphqlResponse<unknown>): string {
  return (response.errors ?? []).map((e) => `${e.extensions?.code ?? "?"}: ${e.message}`).join("; ");
}

/** The data of a response without errors; anything else throws. */
export async function request<T>(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; token?: string } = {},
): Promise<T> {
  const response = await post<T>(url, query, options);
  if (response.errors?.length || !response.data) {
    throw new Error(
      `GraphQL errors: ${describeErrors(response) || "no data"} (query: ${query.slice(0, 80)}...)`,
    );
  }
  return response.data;
}

/**
 * Polls probe until it returns something other than undefined. Bounded: past timeoutMs it throws,
 * naming what it waited for and the last error seen. abort() stops early (e.g. the process died).
 */
export async function waitUntil<T>(
  description: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  options: { intervalMs?: number; abort?: () => string | null } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const aborted = options.abort?.();
    if (aborted) throw new Error(`while waiting for ${description}: ${aborted}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${description}${last ? ` (last error: ${last})` : ""}`,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}

/** GET <base>/ready until 200. */
export function waitForReady(
  baseUrl: string,
  timeoutMs: number,
  abort?: () => string | null,
  intervalMs = 50,
): Promise<boolean> {
  return waitUntil(
    `${baseUrl}/ready to answer 200`,
    timeoutMs,
    async () => {
      const response = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return true;
      throw new Error(`HTTP ${response.status}`);
    },
    { intervalMs, abort },
  );
}

export const PASSWORD = "measure-password-0123";

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken user { id } }
}`;
const LOGIN = `mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken user { id roles } }
}`;

/** (a) the caller's own page: touches all four subgraphs. */
export const ME_QUERY = `query {
  me {
    id
    email
    profile { displayName }
    preferences { theme }
    notifications(first: 5) { totalCount edges { node { title } } }
    unreadNotificationCount
    activity { eventCount }
  }
}`;

/** (b) the ADMIN's user list: twenty entities resolved across the subgraphs. */
export const USERS_QUERY = `query {
  users(first: 20) {
    edges {
      node {
        id
        email
        profile { displayName }
        notifications(first: 5) { totalCount }
        unreadNotificationCount
        activity { eventCount }
      }
    }
  }
}`;

export interface SignedIn {
  email: string;
  userId: string;
  token: string;
}

export async function register(routerUrl: string, email: string, displayName: string): Promise<SignedIn> {
  const data = await request<{ register: { accessToken: string; user: { id: string } } }>(
    routerUrl,
    REGISTER,
    {
      variables: { input: { email, password: PASSWORD, displayName } },
    },
  );
  return { email, userId: data.register.user.id, token: data.register.accessToken };
}

export async function login(routerUrl: string, email: string): Promise<SignedIn & { roles: string[] }> {
  const data = await request<{ login: { accessToken: string; user: { id: string; roles: string[] } } }>(
    routerUrl,
    LOGIN,
    {
      variables: { input: { email, password: PASSWORD } },
    },
  );
  return { email, userId: data.login.user.id, token: data.login.accessToken, roles: data.login.user.roles };
}

/**
 * The registration event has reached every consumer: the profile exists (user), the welcome is in
 * the inbox (notification) and the registration is counted (analytics).
 */
export function waitForConsumers(routerUrl: string, user: SignedIn, timeoutMs = 30_000): Promise<boolean> {
  return waitUntil(
    `the registration of ${user.email} to reach the user, notification and analytics consumers`,
    timeoutMs,
    async () => {
      const data = await request<{
        me: {
          profile: { displayName: string };
          notifications: { totalCount: number };
          activity: { eventCount: number };
        };
      }>(
        routerUrl,
        "query { me { profile { displayName } notifications(first: 1) { totalCount } activity { eventCount } } }",
        { token: user.token },
      );
      if (data.me.notifications.totalCount < 1) throw new Error("no welcome notification yet");
      // The registration and the verification request, both recorded from domain events.
      if (data.me.activity.eventCount < 2) throw new Error("registration not counted by analytics yet");
      return true;
    },
    { intervalMs: 100 },
  );
}

/** count requests of ME_QUERY, `concurrency` at a time; returns how many answered with errors. */
export async function warmUp(
  routerUrl: string,
  token: string,
  count = 200,
  concurrency = 4,
): Promise<{ requests: number; failed: number; firstError: string | null; ms: number }> {
  const started = Date.now();
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const response = await post<unknown>(routerUrl, ME_QUERY, { token });
        if (response.errors?.length || !response.data) throw new Error(describeErrors(response) || "no data");
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { requests: count, failed, firstError, ms: Date.now() - started };
}

/** Runs tasks with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

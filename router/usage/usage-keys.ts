/**
 * Where recorded usage lives in the store (under the router's key prefix) and how one count is
 * named: the router writes with these, `orion schema usage export` reads with them.
 *
 * One hash per UTC day, `usage:<YYYY-MM-DD>`; a field per client and coordinate, its value the
 * number of executed operations that used the coordinate that day. The day is the day the
 * operation ran (not the day its count reached Redis), so counts held through an outage land in
 * the right bucket.
 */

export const DAY_MS = 86_400_000;

/** Who sent an operation, as recorded: names already bounded (usage-clients.ts). */
export interface UsageClient {
  name: string;
  version: string;
}

export const usageKey = (day: string) => `usage:${day}`;

/** JSON: a client may put any character in its name, and no separator could be trusted. */
export const usageField = (client: UsageClient, coordinate: string) =>
  JSON.stringify([client.name, client.version, coordinate]);

/** The client and coordinate of a field; undefined for anything the router never writes. */
export function parseUsageField(field: string): { client: UsageClient; coordinate: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(field);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((part) => typeof part === "string"))
    return undefined;
  const [name, version, coordinate] = parsed as [string, string, string];
  if (!name || !coordinate) return undefined;
  return { client: { name, version }, coordinate };
}

/** The UTC day of a time, YYYY-MM-DD (the usage file's spelling). */
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The `count` days ending with the day of `now`, oldest first. */
export function lastDays(count: number, now: number): string[] {
  return Array.from({ length: count }, (_, index) => utcDay(now - (count - 1 - index) * DAY_MS));
}

/**
 * Seconds a day's hash has left: it goes `retentionDays` after the day began, so an export of the
 * last `retentionDays` days (today included) always finds every day it asks for, and no more.
 */
export function usageTtlSeconds(day: string, retentionDays: number, now: number): number {
  const expiresAt = Date.parse(`${day}T00:00:00Z`) + retentionDays * DAY_MS;
  return Math.max(1, Math.ceil((expiresAt - now) / 1000));
}

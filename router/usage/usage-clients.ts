import type { UsageClient } from "./usage-keys";

/**
 * Which client an operation is counted under. The `apollographql-client-name` and `-version`
 * headers are whatever the caller sent, so they are bounded before they become part of a key: only
 * printable ASCII is kept, names are cut at MAX_NAME_LENGTH and versions at MAX_VERSION_LENGTH, and
 * each day admits at most `maxPerDay` distinct name+version pairs; later ones that day are counted
 * under OTHER_CLIENT. A client that sends a new name with every request therefore adds at most
 * `maxPerDay` clients to a day's hash, whatever it does.
 */

export const MAX_NAME_LENGTH = 64;
export const MAX_VERSION_LENGTH = 32;
export const UNKNOWN_CLIENT: UsageClient = { name: "unknown", version: "" };
export const OTHER_CLIENT: UsageClient = { name: "other", version: "" };

function bounded(raw: string | null | undefined, maxLength: number): string {
  if (!raw) return "";
  return raw
    .replace(/[^\x20-\x7e]/g, "")
    .trim()
    .slice(0, maxLength)
    .trimEnd();
}

/** The client the headers name, bounded; UNKNOWN_CLIENT when they name none. */
export function clientFromHeaders(name: string | null | undefined, version: string | null | undefined) {
  const cleanName = bounded(name, MAX_NAME_LENGTH);
  if (!cleanName) return UNKNOWN_CLIENT;
  return { name: cleanName, version: bounded(version, MAX_VERSION_LENGTH) };
}

/** Admits the first `maxPerDay` distinct clients of each day; the rest of that day they are OTHER_CLIENT. */
export class DailyClientAdmission {
  private day = "";
  private readonly admitted = new Map<string, UsageClient>();

  constructor(private readonly maxPerDay: number) {}

  admit(day: string, client: UsageClient): UsageClient {
    if (day !== this.day) {
      this.day = day;
      this.admitted.clear();
    }
    if (client === UNKNOWN_CLIENT) return client;
    const key = `${client.name}\n${client.version}`;
    const known = this.admitted.get(key);
    if (known) return known;
    if (this.admitted.size >= this.maxPerDay) return OTHER_CLIENT;
    this.admitted.set(key, client);
    return client;
  }
}

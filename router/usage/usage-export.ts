import type { KeyValueStore } from "../../platform/store/key-value-store";
import { USAGE_FORMAT, type UsageFile, usageFileSchema } from "./usage-file";
import { lastDays, parseUsageField, usageKey } from "./usage-keys";

type Counted = UsageFile["clients"][number]["coordinates"][string];

/**
 * The usage the routers recorded over the last `days` UTC days (today included), as an
 * `orion-usage/1` file: counts summed over those days, `lastSeen` the latest day with a count.
 * Fields the router never writes are skipped and counted in `skipped`.
 */
export async function exportUsage(
  store: Pick<KeyValueStore, "hashGetAll">,
  options: { days: number; now?: number },
): Promise<{ file: UsageFile; skipped: number }> {
  const days = lastDays(options.days, options.now ?? Date.now());
  const clients = new Map<string, { name: string; version: string; coordinates: Map<string, Counted> }>();
  let skipped = 0;
  // Oldest first: each later day's count moves lastSeen forward.
  for (const day of days) {
    for (const [field, value] of await store.hashGetAll(usageKey(day))) {
      const parsed = parseUsageField(field);
      const count = Number(value);
      if (!parsed || !Number.isSafeInteger(count) || count < 0) {
        skipped++;
        continue;
      }
      const key = JSON.stringify([parsed.client.name, parsed.client.version]);
      let client = clients.get(key);
      if (!client) clients.set(key, (client = { ...parsed.client, coordinates: new Map() }));
      const seen = client.coordinates.get(parsed.coordinate);
      client.coordinates.set(parsed.coordinate, { count: (seen?.count ?? 0) + count, lastSeen: day });
    }
  }
  const file = {
    format: USAGE_FORMAT,
    from: days[0]!,
    to: days.at(-1)!,
    clients: [...clients.values()]
      .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version))
      .map(({ name, version, coordinates }) => ({
        name,
        version,
        coordinates: Object.fromEntries([...coordinates].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      })),
  } satisfies UsageFile;
  // What is written must read back: the check refuses a file that does not.
  return { file: usageFileSchema.parse(file), skipped };
}

import { type UsageClient, usageField } from "./usage-keys";

/**
 * Usage counted in memory between flushes: per UTC day, per client, per coordinate. Bounded by
 * `maxEntries` (day+client+coordinate triples) so an outage of the store can never grow it without
 * limit: when a new entry does not fit, whole days older than the one being added are dropped,
 * oldest first, and if that is not enough the new use itself is dropped. Every use dropped is
 * reported to `onDropped`. Uses of an entry that already exists always count.
 */

interface ClientCounts {
  client: UsageClient;
  coordinates: Map<string, number>;
}
type DayCounts = Map<string, ClientCounts>;

/** What a flush writes: per day, the increments of that day's hash (usage-keys.ts names the fields). */
export type UsageBatch = Map<string, DayCounts>;

export class UsageCounts {
  private pending: UsageBatch = new Map();
  private entries = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly onDropped: (uses: number) => void = () => undefined,
  ) {}

  /** Day+client+coordinate entries waiting for a flush. */
  get size(): number {
    return this.entries;
  }

  /** One executed operation: each of its coordinates used once, by `client`, on `day`. */
  record(day: string, client: UsageClient, coordinates: Iterable<string>): void {
    const counts = this.countsOf(day, client);
    let dropped = 0;
    for (const coordinate of coordinates) if (!this.add(day, counts, coordinate, 1)) dropped++;
    if (dropped > 0) this.onDropped(dropped);
  }

  /** Everything pending, handed to a flush; the counts start again from empty. */
  take(): UsageBatch {
    const batch = this.pending;
    this.pending = new Map();
    this.entries = 0;
    return batch;
  }

  /** A batch whose flush failed, merged back (its uses are older than anything counted since). */
  restore(batch: UsageBatch): void {
    let dropped = 0;
    for (const day of [...batch.keys()].sort()) {
      for (const { client, coordinates } of batch.get(day)!.values()) {
        const counts = this.countsOf(day, client);
        for (const [coordinate, uses] of coordinates)
          if (!this.add(day, counts, coordinate, uses)) dropped += uses;
      }
    }
    if (dropped > 0) this.onDropped(dropped);
  }

  private countsOf(day: string, client: UsageClient): ClientCounts {
    let days = this.pending.get(day);
    if (!days) this.pending.set(day, (days = new Map()));
    const key = `${client.name}\n${client.version}`;
    let counts = days.get(key);
    if (!counts) days.set(key, (counts = { client, coordinates: new Map() }));
    return counts;
  }

  private add(day: string, counts: ClientCounts, coordinate: string, uses: number): boolean {
    const existing = counts.coordinates.get(coordinate);
    if (existing !== undefined) {
      counts.coordinates.set(coordinate, existing + uses);
      return true;
    }
    while (this.entries >= this.maxEntries && this.dropOldestDayBefore(day));
    if (this.entries >= this.maxEntries) return false;
    counts.coordinates.set(coordinate, uses);
    this.entries++;
    return true;
  }

  private dropOldestDayBefore(day: string): boolean {
    const oldest = [...this.pending.keys()].sort()[0];
    if (oldest === undefined || oldest >= day) return false;
    let uses = 0;
    for (const { coordinates } of this.pending.get(oldest)!.values()) {
      this.entries -= coordinates.size;
      for (const count of coordinates.values()) uses += count;
    }
    this.pending.delete(oldest);
    if (uses > 0) this.onDropped(uses);
    return true;
  }
}

/**
 * A day's counts as increments of its hash, at most `size` fields a chunk. `written()` removes a
 * chunk's counts from the day once the store has them, so a failure leaves only what is unwritten.
 */
export function* dayChunks(
  counts: DayCounts,
  size: number,
): Generator<{ increments: Map<string, number>; written(): void }> {
  let increments = new Map<string, number>();
  let members: [Map<string, number>, string][] = [];
  const chunk = () => {
    const done = members;
    const result = { increments, written: () => done.forEach(([map, coordinate]) => map.delete(coordinate)) };
    increments = new Map();
    members = [];
    return result;
  };
  for (const { client, coordinates } of counts.values()) {
    // Deleting entries already visited (written()) does not disturb this iteration of a Map.
    for (const [coordinate, uses] of coordinates) {
      increments.set(usageField(client, coordinate), uses);
      members.push([coordinates, coordinate]);
      if (increments.size >= size) yield chunk();
    }
  }
  if (increments.size > 0) yield chunk();
}

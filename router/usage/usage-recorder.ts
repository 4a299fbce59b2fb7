import type { RouterEnv, USAGE_VARIABLES } from "../../platform/config";
import type { Logger } from "../../platform/logger";
import type { KeyValueStore } from "../../platform/store/key-value-store";
import { clientFromHeaders, DailyClientAdmission } from "./usage-clients";
import { dayChunks, UsageCounts } from "./usage-counts";
import { DAY_MS, usageKey, usageTtlSeconds, utcDay } from "./usage-keys";
import type { UsageMetrics } from "./usage-metrics";

/** How the router records usage (decision 011). */
export interface UsageSettings {
  /** false: nothing is counted, nothing written (USAGE_RECORDING). */
  enabled: boolean;
  /** Days a day's counts stay in the store (USAGE_RETENTION_DAYS). */
  retentionDays: number;
  /** How often counts are written to the store (default 5 s). */
  flushIntervalMs?: number;
  /** Day+client+coordinate counts kept in memory at most while the store cannot take them. */
  maxPendingEntries?: number;
  /** Distinct clients counted per day; later ones that day count as "other". */
  maxClientsPerDay?: number;
}

export const DEFAULT_USAGE_SETTINGS: UsageSettings = { enabled: true, retentionDays: 30 };
export const DEFAULT_FLUSH_INTERVAL_MS = 5_000;
/** About 10 MB of counts: hours of a busy router's traffic, as each entry is counted once per flush. */
export const DEFAULT_MAX_PENDING_ENTRIES = 100_000;
export const DEFAULT_MAX_CLIENTS_PER_DAY = 100;
/** Fields per write: Redis runs each write uninterrupted, and 500 HINCRBYs take it well under 1 ms. */
export const FLUSH_CHUNK_FIELDS = 500;

export function usageSettingsFromEnv(env: Pick<RouterEnv, (typeof USAGE_VARIABLES)[number]>): UsageSettings {
  return { enabled: env.USAGE_RECORDING, retentionDays: env.USAGE_RETENTION_DAYS };
}

/**
 * Counts in memory on the request path (no I/O, no await), and writes the counts to the store
 * from a timer, in writes of FLUSH_CHUNK_FIELDS HINCRBYs per day. A write that fails (store unreachable, slow past
 * its command budget) puts its counts back for the next flush: nothing recorded is lost while it
 * fits in memory, and a write that timed out after Redis applied it is counted again (over, never
 * under: an unused field looks used, never the other way round).
 */
export class UsageRecorder {
  private readonly counts: UsageCounts;
  private readonly metrics: UsageMetrics | undefined;
  private readonly clients: DailyClientAdmission;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;
  private failing = false;
  // The day of `now()`, recomputed only when it ends: record() runs on every request.
  private day = "";
  private dayEndsAt = 0;

  constructor(
    private readonly options: {
      store: Pick<KeyValueStore, "hashIncrement">;
      settings: UsageSettings;
      logger: Logger;
      /** Created with the recorder's pending count; default: none. */
      metrics?: (pendingEntries: () => number) => UsageMetrics;
      now?: () => number;
    },
  ) {
    const settings = options.settings;
    const metrics = (this.metrics = options.metrics?.(() => this.counts.size));
    this.counts = new UsageCounts(settings.maxPendingEntries ?? DEFAULT_MAX_PENDING_ENTRIES, (uses) =>
      metrics?.dropped(uses),
    );
    this.clients = new DailyClientAdmission(settings.maxClientsPerDay ?? DEFAULT_MAX_CLIENTS_PER_DAY);
    this.timer = setInterval(() => void this.flush(), settings.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** One executed operation: its client (as the headers name it) used each coordinate once. */
  record(
    client: { name: string | null | undefined; version: string | null | undefined },
    coordinates: Iterable<string>,
  ): void {
    const day = this.today();
    this.counts.record(
      day,
      this.clients.admit(day, clientFromHeaders(client.name, client.version)),
      coordinates,
    );
    this.metrics?.operationRecorded();
  }

  /** Writes what is pending; one flush at a time (a caller during one waits for it). */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Stops the timer and makes one last attempt to write what is pending. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }

  private async write(): Promise<void> {
    const batch = this.counts.take();
    if (batch.size === 0) return;
    const now = (this.options.now ?? Date.now)();
    for (const day of [...batch.keys()].sort()) {
      try {
        const ttlSeconds = usageTtlSeconds(day, this.options.settings.retentionDays, now);
        for (const chunk of dayChunks(batch.get(day)!, FLUSH_CHUNK_FIELDS)) {
          await this.options.store.hashIncrement(usageKey(day), chunk.increments, { ttlSeconds });
          chunk.written();
        }
        batch.delete(day);
      } catch (error) {
        this.counts.restore(batch);
        this.metrics?.flushed("failed");
        if (!this.failing)
          this.options.logger.warn({ err: error }, "usage not written; kept in memory for the next flush");
        this.failing = true;
        return;
      }
    }
    this.metrics?.flushed("ok");
    if (this.failing) this.options.logger.info("usage written again");
    this.failing = false;
  }

  private today(): string {
    const now = (this.options.now ?? Date.now)();
    if (now >= this.dayEndsAt || now < this.dayEndsAt - DAY_MS) {
      this.day = utcDay(now);
      this.dayEndsAt = Date.parse(`${this.day}T00:00:00Z`) + DAY_MS;
    }
    return this.day;
  }
}

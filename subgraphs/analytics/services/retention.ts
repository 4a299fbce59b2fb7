import type { Database } from "../../../platform/database/database";
import type { Logger } from "../../../platform/logger";
import { DAY_MS } from "./time";

export interface RetentionPolicy {
  /** Raw events older than this many days are deleted; the rollups keep their counts. */
  retentionDays: number;
  /** How often the sweep runs (default hourly). */
  intervalMs?: number;
  /** Rows per DELETE, so one sweep never holds long locks or bloats one transaction (default 10 000). */
  batchSize?: number;
}

/**
 * Deletes raw events past the retention age, in batches, on a timer. Insights read only the
 * rollups, so they do not change; per-user totals live in `user_totals` and do not change either.
 * Replicas may sweep at once: SKIP LOCKED makes them share the work.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly policy: RetentionPolicy,
  ) {}

  start(): void {
    const interval = this.policy.intervalMs ?? 3_600_000;
    const tick = () => {
      if (this.stopped) return;
      this.running ??= this.sweep()
        .catch((error: unknown) => {
          this.logger.warn({ err: error }, "retention sweep failed; next one in an interval");
          return 0;
        })
        .finally(() => (this.running = undefined));
    };
    this.timer = setInterval(tick, interval);
    this.timer.unref();
    setImmediate(tick);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Deletes every raw event that occurred before `now` minus the retention age; returns how many. */
  async sweep(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.policy.retentionDays * DAY_MS);
    const batchSize = this.policy.batchSize ?? 10_000;
    const connection = this.db.orm.em.getConnection();
    let deleted = 0;
    for (;;) {
      const [row] = await connection.execute<{ count: string }[]>(
        `with gone as (
           delete from events where id in (
             select id from events where occurred_at < ? limit ? for update skip locked
           ) returning 1
         ) select count(*) as count from gone`,
        [cutoff, batchSize],
      );
      const count = Number(row?.count ?? 0);
      deleted += count;
      if (count < batchSize) break;
    }
    if (deleted > 0) this.logger.info({ deleted, cutoff }, "raw events past retention deleted");
    return deleted;
  }
}

import type { Database } from "../../../platform/database/database";
import { erasedAmong } from "../../../platform/events/erasure";
import type { TrackedEvent } from "../entities/tracked-event.entity";
import { recordEvents } from "./rollups";

interface Submission {
  events: TrackedEvent[];
  resolve: (recorded: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for tracked events: calls that arrive while a batch is being written wait for the
 * next one, so under load many requests share one transaction (one multi-row insert and one upsert
 * per rollup) and when idle an event is written at once. A caller's promise settles when its events
 * are committed (or refused with the batch's error). Events of an erased user are dropped.
 */
export class EventIngester {
  private pending: Submission[] = [];
  private draining: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly maxBatch = 1000,
  ) {}

  /** Records the events; resolves with how many were kept (an erased user's are not). */
  track(events: TrackedEvent[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      // setImmediate lets the calls of the same turn of the event loop join the first batch.
      this.draining ??= new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
    });
  }

  /** Resolves once everything submitted so far is written. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch: Submission[] = [];
        let size = 0;
        while (
          this.pending.length > 0 &&
          (batch.length === 0 || size + this.pending[0]!.events.length <= this.maxBatch)
        ) {
          const next = this.pending.shift()!;
          batch.push(next);
          size += next.events.length;
        }
        await this.write(batch);
      }
    } finally {
      this.draining = null;
    }
  }

  private async write(batch: Submission[]): Promise<void> {
    try {
      const kept = await this.db.orm.em.fork().transactional(async (em) => {
        const events = batch.flatMap((submission) => submission.events);
        const erased = await erasedAmong(
          em,
          events.flatMap((event) => (event.userId ? [event.userId] : [])),
        );
        const keep = (event: TrackedEvent) => !event.userId || !erased.has(event.userId);
        await recordEvents(em, events.filter(keep));
        return batch.map((submission) => submission.events.filter(keep).length);
      });
      batch.forEach((submission, i) => submission.resolve(kept[i]!));
    } catch (error) {
      for (const submission of batch) submission.reject(error);
    }
  }
}

import type { Database } from "../../../platform/database/database";
import { erasedAmong } from "../../../platform/events/erasure";
import type { Logger } from "../../../platform/logger";
import { TrackedEvent } from "../entities/tracked-event.entity";
import { recordEvents } from "./rollups";

interface Submission {
  events: TrackedEvent[];
  resolve: (recorded: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for tracked events: calls that arrive while batches are being written wait for the
 * next one, so under load many requests share one transaction (one multi-row insert and one upsert
 * per rollup) and when idle an event is written at once. A caller's promise settles when its events
 * are committed; if a batch fails, each of its calls is written again alone, so one caller's bad
 * data fails only that caller. Events of an erased user are dropped.
 */
export class EventIngester {
  private pending: Submission[] = [];
  private readonly writing = new Set<Promise<void>>();
  private scheduled = false;

  /**
   * `maxInFlight` batches are written at once, so one batch waiting (on a user's erasure lock,
   * say) does not hold up the others.
   */
  constructor(
    private readonly db: Database,
    private readonly logger?: Logger,
    private readonly maxBatch = 1000,
    private readonly maxInFlight = 4,
  ) {}

  /** Records the events; resolves with how many were kept (an erased user's are not). */
  track(events: TrackedEvent[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far is written. */
  async flush(): Promise<void> {
    while (this.scheduled || this.writing.size > 0) {
      if (this.writing.size > 0) await Promise.all(this.writing);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets the calls of the same turn of the event loop join one batch.
    setImmediate(() => {
      this.scheduled = false;
      this.startBatches();
    });
  }

  private startBatches(): void {
    while (this.pending.length > 0 && this.writing.size < this.maxInFlight) {
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
      const written: Promise<void> = this.write(batch).finally(() => {
        this.writing.delete(written);
        // Calls that arrived meanwhile form the next batch.
        if (this.pending.length > 0) this.schedule();
      });
      this.writing.add(written);
    }
  }

  private async write(batch: Submission[]): Promise<void> {
    try {
      const kept = await this.commit(batch.flatMap((submission) => submission.events));
      let offset = 0;
      for (const submission of batch) {
        const count = submission.events.length;
        submission.resolve(kept.slice(offset, offset + count).filter(Boolean).length);
        offset += count;
      }
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      // One submission must not fail the others: each is written again on its own.
      this.logger?.warn(
        { err: error, submissions: batch.length },
        "batch failed; writing its calls one by one",
      );
      // Fresh entities: the failed attempt left the first ones marked as persisted by its fork.
      for (const submission of batch)
        await this.commit(submission.events.map(fresh)).then(
          (kept) => submission.resolve(kept.filter(Boolean).length),
          (alone: unknown) => submission.reject(alone),
        );
    }
  }

  /** One transaction: which of the events were kept (an erased user's are not). */
  private commit(events: TrackedEvent[]): Promise<boolean[]> {
    return this.db.orm.em.fork().transactional(async (em) => {
      const erased = await erasedAmong(
        em,
        events.flatMap((event) => (event.userId ? [event.userId] : [])),
      );
      const kept = events.map((event) => !event.userId || !erased.has(event.userId));
      await recordEvents(
        em,
        events.filter((_, i) => kept[i]),
      );
      return kept;
    });
  }
}

const fresh = (event: TrackedEvent): TrackedEvent =>
  Object.assign(new TrackedEvent(), {
    userId: event.userId,
    name: event.name,
    properties: event.properties,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
  });

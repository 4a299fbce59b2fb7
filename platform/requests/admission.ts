import { availableParallelism } from "node:os";

import { unavailable } from "../errors";
import type { Deadline } from "./deadline";

export interface AdmissionOptions {
  /** Tasks running at once (default: the machine's cores). */
  concurrency?: number;
  /** Tasks waiting at most; past it new ones are shed at once (default 16 per running slot). */
  maxQueued?: number;
  /** A task's expected duration before any has been measured. */
  initialTaskMs: number;
}

interface Waiter {
  start: () => void;
  deadline: Deadline;
  shed: (error: Error) => void;
}

/**
 * Bounded concurrency with a bounded queue for expensive work (password hashing): what cannot
 * start within its caller's deadline is refused at once with SERVICE_UNAVAILABLE rather than
 * queued to finish after the caller has given up. The expected wait is the work queued ahead
 * divided among the slots, times the measured average duration.
 */
export class AdmissionQueue {
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private averageMs: number;
  private shedCount = 0;

  constructor(options: AdmissionOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? availableParallelism());
    this.maxQueued = options.maxQueued ?? this.concurrency * 16;
    this.averageMs = options.initialTaskMs;
  }

  /** Tasks refused since start (for metrics and tests). */
  get shed(): number {
    return this.shedCount;
  }

  async run<T>(task: () => Promise<T>, deadline: Deadline): Promise<T> {
    await this.admit(deadline);
    const started = performance.now();
    try {
      return await task();
    } finally {
      // An exponentially weighted average follows the machine's current speed without jitter.
      this.averageMs = this.averageMs * 0.8 + (performance.now() - started) * 0.2;
      this.running--;
      this.next();
    }
  }

  private admit(deadline: Deadline): Promise<void> {
    deadline.throwIfExpired();
    if (this.running < this.concurrency && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    const expectedWaitMs = ((this.waiting.length + 1) / this.concurrency) * this.averageMs;
    if (this.waiting.length >= this.maxQueued || expectedWaitMs + this.averageMs > deadline.remainingMs())
      return Promise.reject(this.refuse());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        deadline,
        start: () => {
          deadline.signal.removeEventListener("abort", onAbort);
          resolve();
        },
        shed: (error) => {
          deadline.signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(this.refuse());
      };
      deadline.signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private next(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const waiter = this.waiting.shift()!;
      // Its caller may have given up while it waited (without the abort having fired yet).
      if (waiter.deadline.expired) {
        waiter.shed(this.refuse());
        continue;
      }
      this.running++;
      waiter.start();
    }
  }

  private refuse(): Error {
    this.shedCount++;
    const retryAfter = Math.max(
      1,
      Math.ceil((((this.waiting.length + 1) / this.concurrency) * this.averageMs) / 1000),
    );
    return unavailable("Too busy to start this now; nothing was done, retry shortly", retryAfter);
  }
}

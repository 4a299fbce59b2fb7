import { unavailable } from "../errors";

/**
 * The router tells each subgraph how long it will wait for the answer (milliseconds, relative, as
 * gRPC's grpc-timeout does: no clock agreement needed between hosts).
 */
export const DEADLINE_HEADER = "orion-timeout-ms";

/**
 * When the router sent the request (epoch milliseconds). Time the request spent queued before the
 * subgraph read it (a busy host, a backlog) counts against its budget too, as long as the two clocks
 * agree within MAX_CLOCK_SKEW_MS; otherwise the subgraph counts from its receipt.
 */
export const SENT_AT_HEADER = "orion-sent-at";
const MAX_CLOCK_SKEW_MS = 5_000;

/** What a subgraph allows a request when no router said (the router's own default timeout). */
export const DEFAULT_REQUEST_BUDGET_MS = 10_000;

/**
 * The answer must reach the router before it stops waiting: a tenth of the budget (at least 100 ms)
 * is kept for the request's and the response's travel, so work that commits is work the router
 * still takes.
 */
const responseMarginMs = (budgetMs: number) => Math.max(100, budgetMs / 10);

/**
 * When the caller stops waiting: at the router's deadline, or as soon as its connection closes.
 * Work that has not started by then is shed, and work that has not committed by then is rolled
 * back, so nobody is left with an effect (a session, an e-mail) that no client was told of.
 */
export class Deadline {
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abandoned = false;

  private constructor(readonly at: number) {}

  /**
   * From the router's DEADLINE_HEADER and SENT_AT_HEADER; absent or malformed: the default budget
   * from now.
   */
  static fromHeaders(timeoutMs: string | undefined, sentAt: string | undefined, now = Date.now()): Deadline {
    const given = timeoutMs === undefined ? NaN : Number(timeoutMs);
    const budget =
      Number.isFinite(given) && given > 0
        ? Math.min(given, DEFAULT_REQUEST_BUDGET_MS * 6)
        : DEFAULT_REQUEST_BUDGET_MS;
    const sent = sentAt === undefined ? NaN : Number(sentAt);
    const start =
      Number.isFinite(sent) && Math.abs(now - sent) <= MAX_CLOCK_SKEW_MS ? Math.min(now, sent) : now;
    return new Deadline(start + Math.max(0, budget - responseMarginMs(budget)));
  }

  static after(ms: number): Deadline {
    return new Deadline(Date.now() + ms);
  }

  /** Aborts at the deadline or when the caller goes; made on first use (most requests never wait). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abandoned) this.controller.abort();
      else {
        this.timer = setTimeout(() => this.controller!.abort(), Math.max(0, this.at - Date.now()));
        this.timer.unref();
      }
    }
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.abandoned || Date.now() >= this.at;
  }

  remainingMs(): number {
    return this.abandoned ? 0 : Math.max(0, this.at - Date.now());
  }

  /** The caller went away (its connection closed): nothing more is done for it. */
  abandon(): void {
    this.abandoned = true;
    this.controller?.abort();
    this.settle();
  }

  /** Releases the timer once the request is answered. */
  settle(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  throwIfExpired(): void {
    if (this.expired) throw callerGone();
  }
}

export const callerGone = () =>
  unavailable("The request ran out of time before its work could finish; nothing was done");

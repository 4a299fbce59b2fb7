import { unavailable } from "../errors";

/**
 * The router tells each subgraph how long it will wait for the answer (milliseconds, relative, as
 * gRPC's grpc-timeout does: no clock agreement needed between hosts).
 */
export const DEADLINE_HEADER = "orion-timeout-ms";

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

  /** `headerValue` is the router's DEADLINE_HEADER; absent or malformed: the default budget. */
  static fromHeader(headerValue: string | undefined, now = Date.now()): Deadline {
    const given = headerValue === undefined ? NaN : Number(headerValue);
    const budget =
      Number.isFinite(given) && given > 0
        ? Math.min(given, DEFAULT_REQUEST_BUDGET_MS * 6)
        : DEFAULT_REQUEST_BUDGET_MS;
    return new Deadline(now + Math.max(0, budget - responseMarginMs(budget)));
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

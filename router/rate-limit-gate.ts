import type { Request, RequestHandler, Response } from "express";

import type { Identity } from "../platform/identity/identity";
import type { VerifiedCaller } from "./credentials";
import type { RateLimitDecision, RouterRateLimiter } from "./rate-limit";
import { rateLimitedBody, rateLimitHeaders, type RefusalNotes } from "./rate-limit.plugin";
import { type RateLimitSubject, rateLimitSubject } from "./rate-limit-subject";
import type { RouterMetrics } from "./router-metrics";

/**
 * Every request is charged (decision 003, "Refusals are charged"): an operation that runs pays at
 * `didResolveOperation` (rateLimitPlugin); a request the router refuses (unsupported charset,
 * malformed or oversized body, bad credentials, CSRF, a document that does not parse or validate,
 * an unknown persisted hash, not safelisted: any 4xx but 429, or a request error without data)
 * pays when its answer has left. A caller over budget is refused here, in front of /graphql,
 * before its body is read, from an in-process record of who is exhausted until when: a flood of
 * refused requests costs the router little more than the HTTP parsing, and the store nothing.
 */

/** What one request has cost so far, and how far it got; kept per request from the gate on. */
class RequestRefusals implements RefusalNotes {
  /** The router started reading the body: a refusal from then on costs `refusalCost`. */
  bodyRead = false;
  /** Operations refused inside Apollo Server, and the points they were charged when they resolved. */
  operations = 0;
  chargedForRefused = 0;

  constructor(
    readonly subject: RateLimitSubject,
    readonly caller: Promise<VerifiedCaller>,
  ) {}

  refusedOperation(charged: number): void {
    this.operations += 1;
    this.chargedForRefused += charged;
  }

  /** The points still owed once the answer has left with this status. */
  owed(status: number, costOfOne: number): number {
    const refusedByStatus = status >= 400 && status < 500 && status !== 429 ? 1 : 0;
    const refusals = Math.max(this.operations, refusedByStatus);
    return Math.max(0, refusals * costOfOne - this.chargedForRefused);
  }
}

const requests = new WeakMap<Request, RequestRefusals>();

const ANONYMOUS: Identity = { kind: "anonymous" };

/**
 * How long the 429 of a caller already known to be over budget is held before it leaves (never
 * longer than its Retry-After). However cheap a refusal, a client that sends the next request the
 * moment an answer arrives keeps an event loop busy on its own; held, 20 requests in flight cost
 * 20 refusals a second instead of thousands. At most MAX_HELD answers wait at once (a held answer
 * costs a timer and the caller's own open connection); beyond that they leave at once.
 */
export const EXHAUSTED_ANSWER_DELAY_MS = 1_000;
const MAX_HELD = 10_000;

/**
 * In front of /graphql (after CORS, so a browser can read the refusal): verifies the caller's
 * credentials from the headers (once; `callerOf` hands the outcome to the GraphQL context), picks
 * the budget that pays (the key or user when a credential verified, else the client's address),
 * refuses the caller with 429 RATE_LIMITED while that budget is known to be exhausted, and charges
 * the request's refusal, if it ends as one, when its answer has left.
 */
export function rateLimitGate(
  limiter: RouterRateLimiter,
  verify: (req: Request) => Promise<VerifiedCaller>,
  metrics?: Pick<RouterMetrics, "rateLimited">,
  holdMs = EXHAUSTED_ANSWER_DELAY_MS,
): RequestHandler {
  let held = 0;
  const refuse = (res: Response, refusal: RateLimitDecision, identity: Identity) => {
    metrics?.rateLimited(identity);
    const answer = () => {
      res.status(429);
      res.setHeader("retry-after", String(refusal.resetSeconds));
      res.setHeader("cache-control", "no-store");
      for (const [name, value] of rateLimitHeaders(refusal)) res.setHeader(name, value);
      res.json(rateLimitedBody(refusal.resetSeconds));
    };
    const delay = Math.min(holdMs, refusal.msBeforeReset);
    if (delay <= 0 || held >= MAX_HELD) return answer();
    held += 1;
    const release = () => {
      clearTimeout(timer);
      held -= 1;
    };
    const timer = setTimeout(() => {
      res.off("close", release);
      release();
      answer();
    }, delay);
    res.once("close", release); // the client gave up waiting
  };
  return (req, res, next) => {
    const caller = verify(req);
    caller
      .then(
        ({ identity }) => identity,
        // A credential that does not verify is answered 401 later; until then its address pays.
        () => ANONYMOUS,
      )
      .then(async (identity) => {
        const record = new RequestRefusals(rateLimitSubject(identity, { ip: req.ip ?? null }), caller);
        requests.set(req, record);
        const refusal = await limiter.refusedEarly(record.subject);
        if (refusal) return refuse(res, refusal, identity);
        res.once("finish", () =>
          limiter.chargeRefusal(
            record.subject,
            record.owed(res.statusCode, limiter.refusalCost(record.bodyRead)),
          ),
        );
        next();
      })
      .catch(next);
  };
}

/** Mounted right before the body parser: from here on a refusal has cost the router a body read. */
export const bodyReadStarts: RequestHandler = (req, _res, next) => {
  const record = requests.get(req);
  if (record) record.bodyRead = true;
  next();
};

/** The caller the gate verified (its 401 or 503 is thrown here, inside Apollo Server's context). */
export function callerOf(req: Request): Promise<VerifiedCaller> | undefined {
  return requests.get(req)?.caller;
}

/** Where the rate-limit plugin notes operations that ended as refusals. */
export function refusalNotesOf(req: Request): RefusalNotes | undefined {
  return requests.get(req);
}

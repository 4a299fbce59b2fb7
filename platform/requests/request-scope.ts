import { AsyncLocalStorage } from "node:async_hooks";

import type { Request, RequestHandler } from "express";

import { Deadline, DEADLINE_HEADER, SENT_AT_HEADER } from "./deadline";
import type { IdempotencyClaim } from "./idempotency";

/**
 * What a subgraph knows about the request being served, wherever its code runs: resolvers, plugins,
 * and the ORM's flush and transaction hooks (which see no GraphQL context). `subgraph` tells those
 * hooks whose request it is: on embedded defaults one process serves every subgraph.
 */
export interface RequestScope {
  subgraph: string;
  deadline: Deadline;
  idempotency?: IdempotencyClaim;
}

const storage = new AsyncLocalStorage<RequestScope>();
const scopes = new WeakMap<Request, RequestScope>();

export const currentRequest = (): RequestScope | undefined => storage.getStore();

export const requestScopeOf = (req: Request): RequestScope | undefined => scopes.get(req);

/**
 * Opens the request's scope. Mounted after the body parser: the parser's stream callbacks run in
 * the socket's async context, so a scope opened before them would be lost.
 */
export function openRequestScope(subgraph: string): RequestHandler {
  return (req, res, next) => {
    const deadline = Deadline.fromHeaders(req.header(DEADLINE_HEADER), req.header(SENT_AT_HEADER));
    // The router gave up on this request (its timeout) or its connection broke: stop here.
    res.once("close", () => {
      if (!res.writableFinished) deadline.abandon();
      deadline.settle();
    });
    const scope: RequestScope = { subgraph, deadline };
    scopes.set(req, scope);
    storage.run(scope, next);
  };
}

import type { Request, RequestHandler } from "express";

import { ErrorCode } from "../errors";
import { correlationIdFrom, REQUEST_ID_HEADER } from "../http/correlation";
import type { Logger } from "../logger";
import {
  type Assertion,
  type AssertionVerifier,
  IDENTITY_HEADER,
  InvalidIdentityAssertion,
  MissingIdentityAssertion,
} from "./identity";

const verified = new WeakMap<Request, Assertion>();

/**
 * A subgraph answers the router only. In front of /graphql, before the body is read: a request
 * without an `orion-identity` assertion the router signed is refused with HTTP 401 and
 * `UNAUTHENTICATED`, so a caller inside the network can neither run `register`/`login` past the
 * router's rate limits nor read `_service` or `_entities`, nor make the subgraph parse and validate
 * documents at all. The verified assertion is kept for the GraphQL context (verifiedAssertion).
 */
export function routerOnly(verifier: AssertionVerifier, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    try {
      verified.set(req, await verifier.verify(req.header(IDENTITY_HEADER)));
      next();
    } catch (error) {
      if (!(error instanceof InvalidIdentityAssertion)) throw error;
      const missing = error instanceof MissingIdentityAssertion;
      logger.warn(
        {
          correlationId: correlationIdFrom(req.headers[REQUEST_ID_HEADER]),
          peer: req.ip,
          reason: error.message,
        },
        missing ? "refused a request that did not come through the router" : "rejected identity assertion",
      );
      res.status(401).json({
        errors: [
          {
            message: missing ? "This service answers the router only" : "Invalid identity assertion",
            extensions: { code: ErrorCode.UNAUTHENTICATED },
          },
        ],
      });
    }
  };
}

/** The assertion routerOnly verified for this request (it runs before every GraphQL request). */
export function verifiedAssertion(req: Request): Assertion {
  const assertion = verified.get(req);
  if (!assertion) throw new Error("no verified identity assertion: routerOnly must run in front of /graphql");
  return assertion;
}

import type { ApolloServerPlugin } from "@apollo/server";
import cors from "cors";
import type { RequestHandler } from "express";
import { GraphQLError } from "graphql";

/** Apollo's hosted Sandbox (studio.apollographql.com/sandbox) calls the router from this origin. */
export const APOLLO_SANDBOX_ORIGIN = "https://studio.apollographql.com";

/**
 * CORS for /graphql: the configured origins only (none: no cross-origin browser access). Outside
 * production Apollo's hosted Sandbox is allowed too, so a developer can point it at a local router.
 * Chrome asks a public page for permission before it calls a private address (Private Network
 * Access): an allowed origin's preflight gets it, which is what lets hosted Sandbox reach localhost.
 */
export function corsPolicy(options: {
  origins: readonly string[];
  production: boolean;
  exposedHeaders: string[];
}): RequestHandler[] {
  const allowed = new Set([...options.origins, ...(options.production ? [] : [APOLLO_SANDBOX_ORIGIN])]);
  const allowPrivateNetwork: RequestHandler = (req, res, next) => {
    if (
      req.method === "OPTIONS" &&
      req.headers["access-control-request-private-network"] === "true" &&
      allowed.has(req.headers.origin ?? "")
    )
      res.setHeader("Access-Control-Allow-Private-Network", "true");
    next();
  };
  return [
    allowPrivateNetwork,
    cors({
      origin: allowed.size > 0 ? [...allowed] : false,
      exposedHeaders: options.exposedHeaders,
      maxAge: 600,
    }),
  ];
}

/**
 * A document whose operation cannot be chosen (unknown `operationName`, or several operations and
 * no name) is the client's mistake: 400 OPERATION_RESOLUTION_FAILURE, as Apollo Server answers it
 * for a schema of its own. The gateway would otherwise throw while planning, which ends as a 500.
 */
export const operationResolutionPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, request }) {
        if (operation) return;
        throw new GraphQLError(
          request.operationName
            ? `Unknown operation named "${request.operationName}".`
            : "Must provide operation name if query contains multiple operations.",
          { extensions: { code: "OPERATION_RESOLUTION_FAILURE", http: { status: 400 } } },
        );
      },
    };
  },
};

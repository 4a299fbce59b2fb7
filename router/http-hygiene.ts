import type { ApolloServerPlugin } from "@apollo/server";
import cors from "cors";
import type { RequestHandler } from "express";
import { GraphQLError } from "graphql";
import helmet from "helmet";

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

/** Does Apollo answer this request with its landing page (a browser's GET /graphql)? */
const wantsLandingPage: (req: Parameters<RequestHandler>[0]) => boolean = (req) =>
  req.method === "GET" &&
  req.path === "/graphql" &&
  req.accepts(["application/json", "application/graphql-response+json", "text/html"]) === "text/html";

/**
 * Security headers on every router response (helmet). The API answers JSON only, so its policy
 * allows nothing to load or frame it. Outside production, GET /graphql from a browser is Apollo's
 * Sandbox page: it loads scripts, styles and fonts from Apollo's and Google's CDNs and frames
 * sandbox.embed.apollographql.com, under a nonce-based Content-Security-Policy of its own (a
 * <meta> tag). Browsers enforce every policy they are given, so helmet's there would block the
 * page; that response gets only what a <meta> policy cannot say (frame-ancestors) and what the
 * page does not need (plugins, a <base> elsewhere).
 */
export function securityHeaders(options: { production: boolean }): RequestHandler {
  const common = helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false });
  const apiPolicy = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
    },
  });
  const landingPagePolicy = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: helmet.contentSecurityPolicy.dangerouslyDisableDefaultSrc,
      frameAncestors: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
    },
  });
  return (req, res, next) => {
    common(req, res, (error?: unknown) => {
      if (error) return next(error);
      const landing = !options.production && wantsLandingPage(req);
      if (!landing) res.setHeader("X-Frame-Options", "DENY");
      (landing ? landingPagePolicy : apiPolicy)(req, res, next);
    });
  };
}

const UTF8 = new Set(["utf-8", "utf8"]);

/**
 * GraphQL over HTTP is UTF-8 (and RFC 8259 allows JSON in nothing else): a body declared in another
 * charset is refused with 415 before it is read, rather than decoded into something else.
 */
export const refuseUnsupportedCharsets: RequestHandler = (req, res, next) => {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(req.headers["content-type"] ?? "")?.[1];
  if (charset === undefined || UTF8.has(charset.toLowerCase())) return next();
  res.status(415).json({
    errors: [
      {
        message: `Unsupported charset "${charset.slice(0, 40)}": send UTF-8 encoded JSON`,
        extensions: { code: "BAD_REQUEST" },
      },
    ],
  });
};

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

import type { RequestHandler } from "express";
import helmet from "helmet";

/**
 * The HTTP hygiene every ORION service applies, the router and the subgraphs alike (a subgraph is
 * reached only through the router, but a request that does reach it directly meets the same rules).
 */

/** Does Apollo answer this request with its landing page (a browser's GET /graphql)? */
const wantsLandingPage: (req: Parameters<RequestHandler>[0]) => boolean = (req) =>
  req.method === "GET" &&
  req.path === "/graphql" &&
  req.accepts(["application/json", "application/graphql-response+json", "text/html"]) === "text/html";

/**
 * Security headers on every response of every service (helmet). The API answers JSON only, so its
 * policy allows nothing to load or frame it. Where Sandbox is on (the router outside production),
 * GET /graphql from a browser is Apollo's
 * Sandbox page: it loads scripts, styles and fonts from Apollo's and Google's CDNs and frames
 * sandbox.embed.apollographql.com, under a nonce-based Content-Security-Policy of its own (a
 * <meta> tag). Browsers enforce every policy they are given, so helmet's there would block the
 * page; that response gets only what a <meta> policy cannot say (frame-ancestors) and what the
 * page does not need (plugins, a <base> elsewhere).
 */
export function securityHeaders(options: { landingPage: boolean }): RequestHandler {
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
      const landing = options.landingPage && wantsLandingPage(req);
      if (!landing) res.setHeader("X-Frame-Options", "DENY");
      (landing ? landingPagePolicy : apiPolicy)(req, res, next);
    });
  };
}

const UTF8 = new Set(["utf-8", "utf8"]);
const CHARSET_PARAMETER = /;\s*charset\s*=\s*"?([^";\s]*)"?/gi;

/**
 * GraphQL over HTTP is UTF-8 (and RFC 8259 allows JSON in nothing else): a body declared in another
 * charset is refused with 415 before it is read, rather than decoded into something else. So is a
 * Content-Type naming two charsets (415 too: which one the body is in cannot be known, and a proxy
 * and this service could each pick a different one).
 */
export const refuseUnsupportedCharsets: RequestHandler = (req, res, next) => {
  const charsets = [...(req.headers["content-type"] ?? "").matchAll(CHARSET_PARAMETER)].map((m) => m[1]!);
  if (charsets.length === 0 || (charsets.length === 1 && UTF8.has(charsets[0]!.toLowerCase()))) return next();
  const message =
    charsets.length > 1
      ? "Content-Type names more than one charset: send UTF-8 encoded JSON with one charset at most"
      : `Unsupported charset "${charsets[0]!.slice(0, 40)}": send UTF-8 encoded JSON`;
  res.status(415).json({ errors: [{ message, extensions: { code: "BAD_REQUEST" } }] });
};

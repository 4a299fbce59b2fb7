import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import { ApolloServer, type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import type { GatewayInterface } from "@apollo/server-gateway-interface";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type Express, type Request } from "express";
import type { GraphQLFormattedError, GraphQLSchema, ParseOptions, ValidationRule } from "graphql";

import { maskError } from "../errors";
import type { Logger } from "../logger";
import type { ServiceMetrics } from "../metrics";
import { refuseUnsupportedCharsets, securityHeaders } from "./hygiene";
import { outageStatusPlugin } from "./outage-status";
import { requestLogPlugin } from "./request-log.plugin";

export type ReadinessCheck = () => Promise<Record<string, boolean>>;

export interface HttpServiceOptions<Ctx extends BaseContext> {
  name: string;
  port: number;
  host: string;
  production: boolean;
  logger: Logger;
  metrics: ServiceMetrics;
  graphql: { schema: GraphQLSchema } | { gateway: GatewayInterface };
  context: (request: Request) => Promise<Ctx>;
  readiness: ReadinessCheck;
  bodyLimit?: string;
  /** On stop, the longest wait for in-flight requests before their connections are cut (default 10 s). */
  drainTimeoutMs?: number;
  /** Apollo Sandbox on GET /graphql (the router, outside production). */
  sandbox?: boolean;
  plugins?: ApolloServerPlugin<Ctx>[];
  /** Addresses or ranges of proxies whose X-Forwarded-For is believed (default: loopback only). */
  trustedProxies?: string[];
  /** Extra routes, mounted before /graphql (e.g. the JWKS). */
  routes?: (app: Express) => void;
  /** Middleware in front of /graphql (e.g. CORS at the router). */
  graphqlMiddleware?: express.RequestHandler[];
  /** Middleware on /graphql once the request passed the HTTP hygiene, just before its body is read. */
  beforeBodyMiddleware?: express.RequestHandler[];
  /** Middleware on /graphql after the JSON body is parsed, before Apollo (e.g. request size limits). */
  bodyMiddleware?: express.RequestHandler[];
  /** Extra validation (abuse limits), parser limits and HTTP batching (off unless given). */
  validationRules?: ValidationRule[];
  parseOptions?: ParseOptions;
  allowBatchedHttpRequests?: boolean;
}

export interface RunningService {
  name: string;
  url: string;
  port: number;
  app: Express;
  stop(): Promise<void>;
}

/**
 * Every ORION process serves the same way: Express 5 with a body limit, Apollo Server on /graphql,
 * /health (alive), /ready (dependencies answer) and /metrics, behind the same HTTP hygiene
 * (hygiene.ts: security headers, UTF-8 bodies only). Errors leave with a public code only.
 */
export async function startHttpService<Ctx extends BaseContext>(
  options: HttpServiceOptions<Ctx>,
): Promise<RunningService> {
  const { logger } = options;
  const sandbox = Boolean(options.sandbox) && !options.production;
  const apollo = new ApolloServer<Ctx>({
    ...("schema" in options.graphql
      ? { schema: options.graphql.schema }
      : { gateway: options.graphql.gateway }),
    // Apollo's own messages ("Unexpected error processing request: …") go to the JSON log, through
    // its error serializer, never raw to the console.
    logger: {
      debug: (message: unknown) => logger.debug({ apollo: String(message) }, "apollo server"),
      info: (message: unknown) => logger.info({ apollo: String(message) }, "apollo server"),
      warn: (message: unknown) => logger.warn({ err: new Error(String(message)) }, "apollo server"),
      error: (message: unknown) => logger.error({ err: new Error(String(message)) }, "apollo server"),
    },
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    // ORION's own SIGTERM handler stops services in order (router first, databases last); Apollo's
    // would stop this one server and re-raise the signal, killing the process mid-drain.
    stopOnTerminationSignals: false,
    // The original error goes to the logger's error serializer, which keeps its type, code and
    // stack and takes the values out (a driver error's message holds the statement's parameters).
    formatError: (formatted, error) =>
      withoutSuggestions(
        maskError(
          formatted,
          () => logger.error({ err: unwrapResolverError(error) }, "internal error"),
          unwrapResolverError(error),
          (dependency) =>
            logger.warn(
              { dependency, err: unwrapResolverError(error) },
              "dependency unavailable: operation refused",
            ),
        ),
      ),
    validationRules: options.validationRules,
    parseOptions: options.parseOptions,
    allowBatchedHttpRequests: options.allowBatchedHttpRequests ?? false,
    plugins: [
      sandbox
        ? ApolloServerPluginLandingPageLocalDefault({
            embed: true,
            includeCookies: false,
            document: SANDBOX_DOCUMENT,
          })
        : ApolloServerPluginLandingPageDisabled(),
      // Federated tracing (ftv1) would hand resolver timings to whoever asks; ORION exports traces over OTLP instead.
      ApolloServerPluginInlineTraceDisabled(),
      // Apollo installs cache control unless told not to, and it hooks every field of every operation
      // to compute cache hints. ORION declares none (every answer is per caller and private), so it was
      // pure per-field cost in every subgraph; what it concluded, no-store, is said once below.
      ApolloServerPluginCacheControlDisabled(),
      privateAnswers as ApolloServerPlugin<Ctx>,
      outageStatusPlugin as ApolloServerPlugin<Ctx>,
      requestLogPlugin(logger, options.metrics) as ApolloServerPlugin<Ctx>,
      ...(options.plugins ?? []),
    ],
  });
  await apollo.start();

  const app = express();
  app.disable("x-powered-by");
  // GraphQL answers POSTs that are never revalidated: hashing every response body for an ETag is
  // pure cost (a few percent of the router's CPU in bench:router profiles).
  app.set("etag", false);
  // Draining (stop): requests still arriving on kept-alive connections are served and close them;
  // a response finished meanwhile lets its idle connection go, so stop() need not wait for keep-alive.
  let draining = false;
  app.use((req, res, next) => {
    // Read now: mounted handlers rewrite req.url (/graphql becomes /) before the response ends.
    const route = req.path;
    res.once("finish", () => options.metrics.observeHttp(route, res.statusCode));
    if (draining) res.setHeader("connection", "close");
    res.once("close", () => {
      if (draining) server.closeIdleConnections();
    });
    next();
  });
  // Only these proxies' X-Forwarded-For is believed: req.ip is otherwise the socket's peer, so a
  // client cannot claim another address (rate limits and audit records depend on it).
  app.set("trust proxy", options.trustedProxies ?? ["loopback"]);
  app.use(securityHeaders({ landingPage: sandbox }));
  app.get("/health", (_req, res) => {
    res.json({ status: "ok", service: options.name });
  });
  app.get("/ready", async (_req, res) => {
    if (draining) return void res.status(503).json({ status: "draining", checks: {} });
    const checks = await options.readiness().catch(() => ({ readiness: false }));
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not ready", checks });
  });
  app.get("/metrics", async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  options.routes?.(app);
  app.use(
    "/graphql",
    ...(options.graphqlMiddleware ?? []),
    // After the caller's middleware (CORS), so a browser can read the refusal.
    refuseUnsupportedCharsets,
    ...(options.beforeBodyMiddleware ?? []),
    express.json({ limit: options.bodyLimit ?? "100kb" }),
    ...(options.bodyMiddleware ?? []),
    expressMiddleware(apollo, { context: async ({ req }) => options.context(req) }),
  );
  app.use(jsonErrorHandler(logger));

  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(options.port, options.host, (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
  });
  server.keepAliveTimeout = 65_000; // longer than typical load balancer idle timeouts
  const port = (server.address() as AddressInfo).port;
  const host = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  const url = `http://${host}:${port}/graphql`;
  logger.info({ url }, `${options.name} listening`);

  return {
    name: options.name,
    url,
    port,
    app,
    stop: async () => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drainMs = options.drainTimeoutMs ?? 10_000;
      const bound = setTimeout(() => {
        logger.warn({ drainMs }, "still in flight after the drain timeout: closing their connections");
        server.closeAllConnections();
      }, drainMs);
      await closed;
      clearTimeout(bound);
      await apollo.stop();
    },
  };
}

/** No GraphQL answer may be kept by a browser or a shared cache: each is for one caller. */
const privateAnswers: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set("cache-control", "no-store");
      },
    };
  },
};

/** What Sandbox opens with: how to retry a mutation safely, then a first query to run. */
const SANDBOX_DOCUMENT = `# Retrying a mutation safely: send it with an Idempotency-Key header (Headers tab), a new UUID per
# logical operation, e.g. Idempotency-Key: 6f1c1c3e-9a0b-4c6e-8f1e-2d7c0f3b5a91
# A retry with the same key and input within 24 h returns the first outcome (marked
# Idempotent-Replayed: true) without running again; the same key with other input is refused.
query Me {
  me {
    id
    email
  }
}
`;

/**
 * graphql-js suggests the names it knows ("Cannot query field "emial" on type "User". Did you mean
 * "email"?", enum values and input fields too), which walks a schema for a client that may not
 * introspect it: no error leaves any service with one. The router also passes subgraphs' errors on.
 */
export function withoutSuggestions(formatted: GraphQLFormattedError): GraphQLFormattedError {
  return formatted.message.includes("Did you mean")
    ? { ...formatted, message: formatted.message.replace(/\s*Did you mean [^?]*\?/g, "") }
    : formatted;
}

/** Body-parser failures (too large, malformed JSON) answer as GraphQL-shaped errors, never an HTML stack. */
function jsonErrorHandler(logger: Logger): express.ErrorRequestHandler {
  return (error: { status?: number; type?: string; message?: string }, _req, res, _next) => {
    const status =
      typeof error.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error }, "unhandled HTTP error");
    const message =
      status === 413
        ? "Request body too large"
        : status === 500
          ? "Internal server error"
          : "Malformed request body";
    res.status(status).json({
      errors: [{ message, extensions: { code: status === 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST" } }],
    });
  };
}

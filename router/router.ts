import type { ApolloServerPlugin } from "@apollo/server";
import cors from "cors";
import { importPKCS8 } from "jose";
import type { SubgraphName } from "../platform/config";
import { unavailable } from "../platform/errors";
import { correlationIdFrom, REQUEST_ID_HEADER } from "../platform/http/correlation";
import { startHttpService, type RunningService } from "../platform/http/http-service";
import type { Logger } from "../platform/logger";
import type { KeyValueStore } from "../platform/store/key-value-store";
import { createMetrics } from "../platform/metrics";
import { CredentialVerifier } from "./credentials";
import type { RouterContext } from "./context";
import { createGateway } from "./gateway";
import { mountJwksRoute } from "./jwks-route";

export interface RouterOptions {
  port: number;
  host: string;
  production: boolean;
  logger: Logger;
  supergraphSdl: string;
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  jwksUrl: string;
  issuer: string;
  audience: string;
  identityPrivateKey: string;
  corsOrigins: string[];
  bodyLimit: string;
  /** Where sessions and API keys live (Redis; memory in embedded mode): checked on every credentialed request. */
  store: KeyValueStore;
}

/** The edge: verifies who is calling, forwards it signed, plans and executes over the subgraphs. */
export async function startRouter(options: RouterOptions): Promise<RunningService> {
  const identityKey = await importPKCS8(options.identityPrivateKey, "EdDSA");
  const credentials = await CredentialVerifier.create({
    jwksUrl: options.jwksUrl,
    issuer: options.issuer,
    audience: options.audience,
    store: options.store,
    logger: options.logger,
  });
  const gateway = createGateway({
    supergraphSdl: options.supergraphSdl,
    subgraphUrls: options.subgraphUrls,
    identityKey,
    logger: options.logger,
  });
  let loaded = false;
  gateway.onSchemaLoadOrUpdate(() => {
    loaded = true;
  });
  const service = await startHttpService<RouterContext>({
    name: "router",
    port: options.port,
    host: options.host,
    production: options.production,
    logger: options.logger,
    metrics: createMetrics("router"),
    graphql: { gateway },
    sandbox: true,
    bodyLimit: options.bodyLimit,
    // The auth subgraph's key set, at the same path: verifiers need to reach only the router.
    routes: (app) => mountJwksRoute(app, { jwksUrl: options.jwksUrl, logger: options.logger }),
    graphqlMiddleware: [
      cors({
        origin: options.corsOrigins.length > 0 ? options.corsOrigins : false,
        exposedHeaders: [REQUEST_ID_HEADER],
        maxAge: 600,
      }),
      (req, res, next) => {
        res.setHeader(REQUEST_ID_HEADER, correlationIdFrom(req.headers[REQUEST_ID_HEADER]));
        next();
      },
    ],
    plugins: [refuseUnconfirmedMutations],
    context: async (req) => ({
      ...(await credentials.verify({
        authorization: req.header("authorization"),
        apiKey: req.header("x-api-key"),
      })),
      correlationId: String(req.res?.getHeader(REQUEST_ID_HEADER) ?? correlationIdFrom(undefined)),
      // req.ip honours Express's `trust proxy` (loopback here): a client cannot claim another address.
      client: { ip: req.ip ?? null, userAgent: req.header("user-agent") ?? null },
    }),
    // Not the store: while Redis is out the router keeps serving reads (decision 002), so it stays ready.
    readiness: async () => ({ supergraph: loaded }),
  });
  return {
    ...service,
    stop: async () => {
      await service.stop();
      await credentials.close();
    },
  };
}

/**
 * Fail closed for writes: a token whose session could not be checked may read, but a mutation
 * (logout, password change, anything that changes state) waits until the session store answers.
 */
const refuseUnconfirmedMutations: ApolloServerPlugin<RouterContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ contextValue, operation }) {
        if (contextValue.unconfirmed && operation?.operation === "mutation")
          throw unavailable("Your session cannot be checked right now; retry shortly");
      },
    };
  },
};

import cors from "cors";
import { importPKCS8 } from "jose";
import type { SubgraphName } from "../platform/config";
import { correlationIdFrom, REQUEST_ID_HEADER } from "../platform/http/correlation";
import { startHttpService, type RunningService } from "../platform/http/http-service";
import type { Logger } from "../platform/logger";
import { createMetrics } from "../platform/metrics";
import { accessTokenVerifier } from "./access-token";
import type { RouterContext } from "./context";
import { createGateway } from "./gateway";

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
}

/** The edge: verifies who is calling, forwards it signed, plans and executes over the subgraphs. */
export async function startRouter(options: RouterOptions): Promise<RunningService> {
  const identityKey = await importPKCS8(options.identityPrivateKey, "EdDSA");
  const verifyAccessToken = accessTokenVerifier({
    jwksUrl: options.jwksUrl,
    issuer: options.issuer,
    audience: options.audience,
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
    context: async (req) => ({
      identity: await verifyAccessToken(req.header("authorization")),
      correlationId: String(req.res?.getHeader(REQUEST_ID_HEADER) ?? correlationIdFrom(undefined)),
      // req.ip honours Express's `trust proxy` (loopback here): a client cannot claim another address.
      client: { ip: req.ip ?? null, userAgent: req.header("user-agent") ?? null },
    }),
    readiness: async () => ({ supergraph: loaded }),
  });
  return service;
}

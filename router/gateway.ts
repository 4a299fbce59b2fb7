import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import type { GatewayInterface } from "@apollo/server-gateway-interface";
import type { KeyObject } from "node:crypto";
import type { CryptoKey } from "jose";
import type { SubgraphName } from "../platform/config";
import { REQUEST_ID_HEADER } from "../platform/http/correlation";
import { IDENTITY_HEADER, signIdentityAssertion } from "../platform/identity/identity";
import type { Logger } from "../platform/logger";
import type { RouterContext } from "./context";

export interface GatewayOptions {
  /** The committed supergraph: the router never composes from live subgraphs. */
  supergraphSdl: string;
  /** Per-subgraph URL overrides (container names, test ports); default: the supergraph's routing URLs. */
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  identityKey: CryptoKey | KeyObject;
  logger: Logger;
}

/** Forwards each request's identity as a short-lived signed assertion, and its correlation id. */
class OrionDataSource extends RemoteGraphQLDataSource<RouterContext> {
  constructor(
    config: { url?: string; name: string },
    private readonly identityKey: CryptoKey | KeyObject,
  ) {
    super(config);
  }

  override async willSendRequest({
    request,
    context,
  }: Parameters<RemoteGraphQLDataSource<RouterContext>["willSendRequest"] & {}>[0]) {
    if (!context.identity) return; // the gateway's own calls (none while the supergraph is static)
    context.assertion ??= signIdentityAssertion(context.identity, context.client, this.identityKey);
    request.http?.headers.set(IDENTITY_HEADER, await context.assertion);
    request.http?.headers.set(REQUEST_ID_HEADER, context.correlationId);
  }
}

export function createGateway(options: GatewayOptions): GatewayInterface {
  return new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    logger: options.logger,
    buildService: ({ name, url }) =>
      new OrionDataSource(
        { name, url: options.subgraphUrls[name.toLowerCase() as SubgraphName] ?? url },
        options.identityKey,
      ),
  }) as unknown as GatewayInterface;
}

import { readFileSync } from "node:fs";

import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer, type BaseContext } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { importPKCS8 } from "jose";

import {
  type ClientInfo,
  type Identity,
  IDENTITY_HEADER,
  signIdentityAssertion,
} from "../../../platform/identity/identity";
import { SUPERGRAPH_PATH } from "../../../platform/paths";
import { callerFromRequest, targetSettings, withSubgraphUrls } from "./identity";

/**
 * Target (b): a stock @apollo/gateway in @apollo/server (startStandaloneServer), all defaults.
 * The one addition is willSendRequest signing the caller into the `orion-identity` assertion
 * the subgraphs require (as router/gateway.ts does: once per request, reused for every fetch);
 * without it every subgraph refuses the request (HTTP 401). Who the caller is comes from the
 * bearer token's claims, unverified (see identity.ts).
 */

interface Context extends BaseContext {
  identity: Identity;
  client: ClientInfo;
  assertion?: Promise<string>;
}

async function main(): Promise<void> {
  const { port, subgraphUrls, identityPrivateKey } = targetSettings();
  const key = await importPKCS8(identityPrivateKey, "EdDSA");

  class SigningDataSource extends RemoteGraphQLDataSource<Context> {
    override async willSendRequest({
      request,
      context,
    }: Parameters<RemoteGraphQLDataSource<Context>["willSendRequest"] & {}>[0]) {
      if (!context.identity) return; // the gateway's own calls
      context.assertion ??= signIdentityAssertion(context.identity, context.client, key);
      request.http?.headers.set(IDENTITY_HEADER, await context.assertion);
    }
  }

  const gateway = new ApolloGateway({
    supergraphSdl: withSubgraphUrls(readFileSync(SUPERGRAPH_PATH, "utf8"), subgraphUrls),
    buildService: ({ url }) => new SigningDataSource({ url }),
  });
  const server = new ApolloServer<Context>({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port, host: "127.0.0.1" },
    context: async ({ req }) => callerFromRequest(req),
  });
  console.log(`stock @apollo/gateway listening at ${url}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";

import { createGatewayRuntime } from "@graphql-hive/gateway-runtime";
import { importPKCS8 } from "jose";

import { IDENTITY_HEADER, signIdentityAssertion } from "../../../platform/identity/identity";
import { SUPERGRAPH_PATH } from "../../../platform/paths";
import { identityFromBearer, targetSettings, withSubgraphUrls } from "./identity";

/**
 * Target (c): Hive Gateway's runtime (@graphql-hive/gateway-runtime, the engine of
 * @graphql-hive/gateway) over the same supergraph, defaults otherwise, on node:http. The one
 * addition, as for (b): `propagateHeaders` signs the caller into the `orion-identity` assertion
 * once per client request and sends it to every subgraph.
 */

async function main(): Promise<void> {
  const { port, subgraphUrls, identityPrivateKey } = targetSettings();
  const key = await importPKCS8(identityPrivateKey, "EdDSA");
  const assertions = new WeakMap<Request, Promise<string>>();

  const gateway = createGatewayRuntime({
    supergraph: withSubgraphUrls(readFileSync(SUPERGRAPH_PATH, "utf8"), subgraphUrls),
    propagateHeaders: {
      fromClientToSubgraphs: async ({ request, context }) => {
        let assertion = assertions.get(request);
        if (!assertion) {
          const req = (context as { req?: IncomingMessage }).req;
          assertion = signIdentityAssertion(
            identityFromBearer(request.headers.get("authorization")),
            { ip: req?.socket.remoteAddress ?? null, userAgent: request.headers.get("user-agent") },
            key,
          );
          assertions.set(request, assertion);
        }
        return { [IDENTITY_HEADER]: await assertion };
      },
    },
  });
  const server = createServer(gateway);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  console.log(`Hive Gateway listening at http://127.0.0.1:${port}/graphql`);
  const stop = () => {
    server.close();
    void Promise.resolve(gateway.dispose()).then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import diagnostics from "node:diagnostics_channel";
import { isIP } from "node:net";

import { register, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";

/**
 * The router calls its subgraphs and nothing else over HTTP: no usage telemetry to Apollo and no
 * probes of cloud metadata endpoints (@apollo/gateway does both unless told not to), so a router
 * behind an egress-denying network policy starts and runs exactly as one without it.
 */

interface HttpClientRequest {
  host?: string;
  getHeader?(name: string): unknown;
}

const destinations: string[] = [];
const onHttp = (message: unknown) => {
  const request = (message as { request: HttpClientRequest }).request;
  destinations.push(String(request.host ?? request.getHeader?.("host") ?? "?"));
};
/** host:port of every undici request (the router's subgraph client, and this test's own fetch). */
const undiciOrigins: string[] = [];
const onUndici = (message: unknown) => {
  const origin = new URL((message as { request: { origin: string } }).request.origin);
  undiciOrigins.push(origin.host);
  destinations.push(origin.hostname);
};

const loopback = (host: string) => {
  const bare = host.replace(/^\[|\]$/g, "").replace(/:\d+$/, "");
  return bare === "localhost" || (isIP(bare) === 4 ? bare.startsWith("127.") : bare === "::1");
};

describeWithServices(["postgres", "redis", "rabbitmq"], "router egress", () => {
  let env: TestSupergraph;

  beforeAll(async () => {
    diagnostics.subscribe("http.client.request.start", onHttp);
    diagnostics.subscribe("undici:request:create", onUndici);
    env = await startTestSupergraph("services");
  }, 60_000);

  afterAll(async () => {
    diagnostics.unsubscribe("http.client.request.start", onHttp);
    diagnostics.unsubscribe("undici:request:create", onUndici);
    await env?.stop();
  });

  it("sends HTTP only to loopback subgraphs while starting and serving", async () => {
    const user = await register(env, uniqueEmail("egress"));
    expect(user.id).toBeTruthy();
    // Requests the gateway issued while it was built (metadata probes) have started by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The router's own fetch to auth was seen (the test's fetch goes to the router, not to auth).
    expect(undiciOrigins).toContain(new URL(env.supergraph.subgraphs.auth.url).host);
    expect(destinations.filter((host) => !loopback(host))).toEqual([]);
  });
});

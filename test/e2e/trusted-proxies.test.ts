import { MySessionsDocument } from "../../schema/generated/graphql";
import { login, register, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";

// The client address the router records (sessions, audit, rate limits) comes from X-Forwarded-For
// only when the connection comes from a trusted proxy (TRUSTED_PROXIES).

describeWithServices(["postgres", "redis", "rabbitmq"], "trusted proxies", () => {
  let env: TestSupergraph;

  afterEach(async () => {
    await env?.stop();
  });

  async function addressSeenFor(headers: Record<string, string>) {
    const email = uniqueEmail("proxy");
    await register(env, email);
    const session = await login(env, email, undefined, headers);
    const sessions = await env.request(MySessionsDocument, {}, { token: session.token });
    return sessions.data!.mySessions.find((s) => s.current)!.ipAddress;
  }

  it("believes X-Forwarded-For from a trusted proxy (loopback by default)", async () => {
    env = await startTestSupergraph("services");
    expect(await addressSeenFor({ "x-forwarded-for": "203.0.113.9" })).toBe("203.0.113.9");
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    env = await startTestSupergraph("services", { trustedProxies: ["10.0.0.0/8"] });
    const seen = await addressSeenFor({ "x-forwarded-for": "203.0.113.9" });
    expect(seen).not.toBe("203.0.113.9");
    expect(seen).toMatch(/127\.0\.0\.1|::1/);
  });
});

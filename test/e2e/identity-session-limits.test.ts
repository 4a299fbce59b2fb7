import { setTimeout as sleep } from "node:timers/promises";

import { RefreshSessionDocument } from "../../schema/generated/graphql";
import { codesOf } from "../support/graphql-client";
import { rawDocument, register, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";

// Sessions end after an idle timeout and at an absolute lifetime, on real Redis, seen through the
// router. Seconds instead of days, so the test can wait them out.

const ME = rawDocument<{ me: { id: string } | null }>("{ me { id } }");

describeWithServices(["postgres", "redis", "rabbitmq"], "identity: session idle timeout and lifetime", () => {
  let env: TestSupergraph;

  beforeAll(async () => {
    env = await startTestSupergraph("services", {
      // Lifetime 6 s: three refreshes 1.5 s apart end well before it even on a loaded machine.
      auth: { sessions: { idleSeconds: 2, lifetimeSeconds: 6 } },
    });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  const refresh = (refreshToken: string) => env.request(RefreshSessionDocument, { refreshToken });

  it("ends a session nobody refreshes within the idle timeout", async () => {
    const user = await register(env, uniqueEmail("idle"));
    await sleep(1000);
    const kept = await refresh(user.refreshToken);
    expect(kept.errors).toBeUndefined();
    await sleep(2600);
    expect(codesOf(await refresh(kept.data!.refreshSession.refreshToken))).toEqual(["UNAUTHENTICATED"]);
    // The access token is still within its 15 minutes, but its session is gone.
    const me = await env.request(ME, {}, { token: kept.data!.refreshSession.accessToken });
    expect(me.status).toBe(401);
  });

  it("ends an active session at its absolute lifetime", async () => {
    const user = await register(env, uniqueEmail("lifetime"));
    let refreshToken = user.refreshToken;
    // Refreshing every 1.5 s keeps it from idling out, until the 6 s lifetime is reached.
    for (let elapsed = 1.5; elapsed < 5; elapsed += 1.5) {
      await sleep(1500);
      const next = await refresh(refreshToken);
      expect({ elapsed, codes: codesOf(next) }).toEqual({ elapsed, codes: [] });
      refreshToken = next.data!.refreshSession.refreshToken;
    }
    // Past the lifetime, yet within the idle timeout of the last refresh: the lifetime ends it.
    await sleep(1700);
    expect(codesOf(await refresh(refreshToken))).toEqual(["UNAUTHENTICATED"]);
  });
});

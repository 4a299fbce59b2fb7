import { randomUUID } from "node:crypto";

import { print } from "graphql";

import {
  LoginDocument,
  RefreshSessionDocument,
  RegisterDocument,
  UpdateProfileDocument,
} from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf } from "../support/graphql-client";
import { PASSWORD, register, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";

// Idempotency keys through the router on real services (decision 006): a retry with the same key
// and input returns the first outcome without running again; other input is refused; a failure
// that changed nothing can be retried; the stored answer holds no token in clear.

const withKey = (key: string) => ({ headers: { "idempotency-key": key } });

describeWithServices(["postgres", "redis", "rabbitmq"], "idempotency keys", () => {
  let env: TestSupergraph;

  beforeAll(async () => {
    env = await startTestSupergraph("services", { auth: { bcryptCost: 4 } });
  }, 60_000);

  afterAll(() => env?.stop());

  const registrations = (email: string) =>
    subgraphSql(
      env,
      "auth",
      "select 1 from outbox_events where type = 'auth.user.registered' and payload->>'email' = ?",
      [email],
    );
  const records = () =>
    subgraphSql<{ state: string; response: Buffer | null }>(
      env,
      "auth",
      "select state, response from idempotency_records",
    );

  it("runs a keyed register once: the retry gets the same account and tokens, marked replayed, and one welcome", async () => {
    const email = uniqueEmail("idem-register");
    const key = randomUUID();
    const input = { input: { email, password: PASSWORD, displayName: "Once" } };
    const first = await env.request(RegisterDocument, input, withKey(key));
    const again = await env.request(RegisterDocument, input, withKey(key));
    expect(first.errors).toBeUndefined();
    expect(again.errors).toBeUndefined();
    expect(again.data).toEqual(first.data);
    expect(await registrations(email)).toHaveLength(1);

    const raw = await fetch(env.supergraph.routerUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify({ query: print(RegisterDocument), variables: input }),
    });
    expect(raw.headers.get("idempotent-replayed")).toBe("true");
    // Without a key the same input runs again (and finds the address taken).
    expect(codesOf(await env.request(RegisterDocument, input))).toEqual(["CONFLICT"]);
  });

  it("never keeps a token in clear: the record is sealed under the client's key", async () => {
    const email = uniqueEmail("idem-sealed");
    const answer = await env.request(
      RegisterDocument,
      { input: { email, password: PASSWORD, displayName: "Sealed" } },
      withKey(randomUUID()),
    );
    const { accessToken, refreshToken } = answer.data!.register;
    const stored = (await records()).filter((record) => record.response !== null);
    expect(stored.length).toBeGreaterThan(0);
    for (const record of stored) {
      const bytes = Buffer.from(record.response!).toString("latin1");
      expect(bytes).not.toContain(refreshToken);
      expect(bytes).not.toContain(accessToken.split(".")[1]!);
      expect(bytes).not.toContain(email);
    }
  });

  it("refuses the same key with other input, and a malformed key, before anything runs", async () => {
    const key = randomUUID();
    const email = uniqueEmail("idem-other");
    await env.request(
      RegisterDocument,
      { input: { email, password: PASSWORD, displayName: "A" } },
      withKey(key),
    );
    const other = await env.request(
      RegisterDocument,
      { input: { email: uniqueEmail("idem-other-2"), password: PASSWORD, displayName: "B" } },
      withKey(key),
    );
    expect(codesOf(other)).toEqual(["BAD_USER_INPUT"]);
    expect(other.errors![0]!.extensions!.field).toBe("Idempotency-Key");

    const malformed = await env.request(
      RegisterDocument,
      { input: { email: uniqueEmail("idem-bad-key"), password: PASSWORD, displayName: "C" } },
      withKey("short"),
    );
    expect(codesOf(malformed)).toEqual(["BAD_USER_INPUT"]);
    expect(malformed.status).toBe(400);
  });

  it("lets a refresh be retried safely: the same new tokens, not a reuse that ends the session", async () => {
    const user = await register(env, uniqueEmail("idem-refresh"));
    const key = randomUUID();
    const first = await env.request(
      RefreshSessionDocument,
      { refreshToken: user.refreshToken },
      withKey(key),
    );
    const retried = await env.request(
      RefreshSessionDocument,
      { refreshToken: user.refreshToken },
      withKey(key),
    );
    expect(first.errors).toBeUndefined();
    expect(retried.data).toEqual(first.data);
    // The session lives on: its newest refresh token still works.
    const next = await env.request(RefreshSessionDocument, {
      refreshToken: first.data!.refreshSession.refreshToken,
    });
    expect(next.errors).toBeUndefined();
  });

  it("gives a client that lost the answer the first outcome when it retries, with nothing run twice", async () => {
    const user = await register(env, uniqueEmail("idem-lost"));
    const key = randomUUID();
    const body = JSON.stringify({
      query: print(LoginDocument),
      variables: { input: { email: user.email, password: PASSWORD } },
    });
    // The connection drops while the login runs: the client cannot know whether it happened.
    await fetch(env.supergraph.routerUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key },
      body,
      signal: AbortSignal.timeout(5),
    }).catch(() => undefined);
    const retried = await eventually(async () => {
      const response = await env.request(
        LoginDocument,
        { input: { email: user.email, password: PASSWORD } },
        withKey(key),
      );
      expect(codesOf(response)).not.toContain("CONFLICT"); // still running: retry
      return response;
    });
    expect(retried.errors).toBeUndefined();
    const [row] = await subgraphSql<{ count: string }>(
      env,
      "auth",
      "select count(*) from audit_events where type = 'LOGIN_SUCCEEDED' and user_id = ?",
      [user.id],
    );
    expect(Number(row!.count)).toBe(1);
  });

  it("keeps no record of a keyed attempt that failed having changed nothing, so its retry runs", async () => {
    const user = await register(env, uniqueEmail("idem-failed"));
    const key = randomUUID();
    const before = (await records()).length;
    const refused = await env.request(
      UpdateProfileDocument,
      { input: { locale: "not a locale at all" } },
      { token: user.token, ...withKey(key) },
    );
    expect(codesOf(refused)).toEqual(["BAD_USER_INPUT"]);
    const userRecords = await subgraphSql(env, "user", "select 1 from idempotency_records");
    expect(userRecords).toHaveLength(0);
    expect((await records()).length).toBe(before);
  });

  it("accepts the key in the request's extensions and forgets it after its window", async () => {
    const email = uniqueEmail("idem-extensions");
    const key = randomUUID();
    const send = () =>
      fetch(env.supergraph.routerUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: print(RegisterDocument),
          variables: { input: { email, password: PASSWORD, displayName: "Ext" } },
          extensions: { idempotencyKey: key },
        }),
      }).then(async (response) => (await response.json()) as { data?: unknown; errors?: unknown[] });
    const first = await send();
    expect(first.errors).toBeUndefined();
    expect(await send()).toEqual(first);
    // 24 hours later the key is free again: the same input runs, and the address is taken.
    await subgraphSql(env, "auth", "update idempotency_records set expires_at = now() - interval '1 second'");
    const later = await send();
    expect((later.errors as { extensions: { code: string } }[])[0]!.extensions.code).toBe("CONFLICT");
  });
});

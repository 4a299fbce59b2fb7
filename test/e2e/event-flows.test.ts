/* eslint-disable max-lines -- every flow runs through one started supergraph (seconds to start)
   and its outbox relays; splitting the file would start another. */
import { randomUUID } from "node:crypto";

import { UserRegistered } from "../../contracts/events/auth";
import { MarketingConsentChanged, ProfileUpdated } from "../../contracts/events/user";
import type { SubgraphName } from "../../platform/config";
import { createEnvelope, type EventEnvelope, handle, subscription } from "../../platform/events/event-bus";
import { OutboxRelay, stageEvent } from "../../platform/events/outbox";
import { createLogger } from "../../platform/logger";
import {
  AccountErasureDocument,
  DeleteMyAccountDocument,
  MeDocument,
  RegisterDocument,
  TrackEventDocument,
  UpdateProfileDocument,
} from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf } from "../support/graphql-client";
import { firstAdmin, login, PASSWORD, register, type SignedIn, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";

// Cross-domain flows through the router on real PostgreSQL, RabbitMQ and Redis: every committed
// change produces its event through the transactional outbox, and every event has its effect once.

const ADMIN_EMAIL = `events-admin-${process.pid}@example.com`;

describeWithServices(["postgres", "redis", "rabbitmq"], "event flows through the outbox", () => {
  let env: TestSupergraph;
  let admin: SignedIn;

  beforeAll(async () => {
    env = await startTestSupergraph("services", {
      auth: { adminEmails: [ADMIN_EMAIL] },
      // A minute between polls: anything faster than that was woken by the commit's NOTIFY.
      outbox: { pollIntervalMs: 60_000 },
    });
    admin = await firstAdmin(env, ADMIN_EMAIL);
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  const sql = <T>(subgraph: SubgraphName, query: string, params: unknown[] = []) =>
    subgraphSql<T>(env, subgraph, query, params);

  it("delivers a registration to every consumer within a second of the commit, carrying the request's correlation id", async () => {
    const email = uniqueEmail("flow");
    const started = Date.now();
    const response = await env.request(
      RegisterDocument,
      { input: { email, password: PASSWORD, displayName: "Flow" } },
      { headers: { "x-request-id": `flow-${process.pid}` } },
    );
    const user = response.data!.register;
    await eventually(
      async () => {
        const me = await env.request(MeDocument, {}, { token: user.accessToken });
        expect(me.errors).toBeUndefined();
        expect(me.data!.me!.profile.displayName).toBe("Flow");
        // Analytics recorded the registration and the verification e-mail request.
        expect(me.data!.me!.activity.eventCount).toBe(2);
        expect(me.data!.me!.notifications.edges.map((e) => e.node.kind)).toEqual(
          expect.arrayContaining(["welcome", "verify-email"]),
        );
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    const [row] = await sql<{ correlation_id: string; relay_ms: number }>(
      "auth",
      `select correlation_id, extract(epoch from published_at - occurred_at) * 1000 as relay_ms
       from outbox_events where type = 'auth.user.registered' and payload->>'userId' = ?`,
      [user.user.id],
    );
    expect(row!.correlation_id).toBe(`flow-${process.pid}`);
    // The relay polls once a minute here: publishing within seconds means the commit's NOTIFY woke
    // it (about 10 ms on an idle machine; bench:events measures the whole path).
    expect(Number(row!.relay_ms)).toBeLessThan(5000);
    // Each consuming queue recorded the event in its inbox, in the effect's transaction.
    const [event] = await sql<{ id: string }>(
      "auth",
      "select id from outbox_events where type = 'auth.user.registered' and payload->>'userId' = ?",
      [user.user.id],
    );
    const queues = async (subgraph: "user" | "notification" | "analytics") =>
      (
        await sql<{ queue: string }>(subgraph, "select queue from inbox_events where event_id = ?", [
          event!.id,
        ])
      )
        .map((r) => r.queue)
        .sort();
    expect(await queues("user")).toEqual(["user.profiles"]);
    expect(await queues("notification")).toEqual(["notification.recipients", "notification.welcome"]);
    expect(await queues("analytics")).toEqual(["analytics.domain-events"]);
  });

  it("writes no event when the change does not commit", async () => {
    const email = uniqueEmail("once");
    await register(env, email);
    const before = await sql<{ count: string }>(
      "auth",
      "select count(*) from outbox_events where type = 'auth.user.registered'",
    );
    const duplicate = await env.request(RegisterDocument, {
      input: { email, password: PASSWORD, displayName: "Twice" },
    });
    expect(codesOf(duplicate)).toEqual(["CONFLICT"]);
    const after = await sql<{ count: string }>(
      "auth",
      "select count(*) from outbox_events where type = 'auth.user.registered'",
    );
    expect(after[0]!.count).toBe(before[0]!.count);
  });

  it("keeps the notification subgraph's recipient copy current when a profile changes", async () => {
    const user = await register(env, uniqueEmail("recipient"));
    await eventually(async () =>
      expect(await sql("notification", "select * from recipients where user_id = ?", [user.id])).toHaveLength(
        1,
      ),
    );
    const updated = await env.request(
      UpdateProfileDocument,
      { input: { displayName: "Renamed", locale: "fr-FR", timezone: "Europe/Paris" } },
      { token: user.token },
    );
    expect(updated.errors).toBeUndefined();
    await eventually(async () => {
      const [recipient] = await sql<Record<string, string>>(
        "notification",
        "select * from recipients where user_id = ?",
        [user.id],
      );
      expect(recipient).toMatchObject({
        email: user.email,
        display_name: "Renamed",
        locale: "fr-FR",
        timezone: "Europe/Paris",
      });
    });
  });

  it("keeps the newest recipient data and consent when events arrive out of order", async () => {
    // Different queues and retries can reorder events: here the profile change and two consent
    // changes are published before the registration they follow, the newer consent first.
    const userId = randomUUID();
    const email = uniqueEmail("reordered");
    const at = (offsetMs: number) => new Date(Date.now() - 60_000 + offsetMs).toISOString();
    const publish = <E extends EventEnvelope>(envelope: E, occurredAt: string) =>
      env.supergraph.bus.publish({ ...envelope, occurredAt });
    await publish(
      createEnvelope(
        ProfileUpdated,
        { userId, displayName: "Zoé", locale: "fr", timezone: "Europe/Paris", revision: 2 },
        { producer: "user" },
      ),
      at(2_000),
    );
    await publish(
      createEnvelope(
        MarketingConsentChanged,
        // The second change, stamped by a replica whose clock is behind: the revision decides.
        { userId, optedIn: false, revision: 2, changedAt: at(500) },
        { producer: "user" },
      ),
      at(4_000),
    );
    await publish(
      createEnvelope(
        MarketingConsentChanged,
        { userId, optedIn: true, revision: 1, changedAt: at(3_000) },
        { producer: "user" },
      ),
      at(3_000),
    );
    await publish(
      createEnvelope(
        ProfileUpdated,
        // Revision 1, stamped later by a replica whose clock is ahead: the revision decides.
        { userId, displayName: "Older", locale: "de", timezone: "UTC", revision: 1 },
        { producer: "user" },
      ),
      at(9_000),
    );
    await publish(
      createEnvelope(
        UserRegistered,
        { userId, email, displayName: "First", locale: "en" },
        { producer: "auth" },
      ),
      at(0),
    );
    await eventually(
      async () => {
        const [recipient] = await sql<Record<string, string>>(
          "notification",
          "select email, display_name, locale, timezone from recipients where user_id = ?",
          [userId],
        );
        expect(recipient).toEqual({ email, display_name: "Zoé", locale: "fr", timezone: "Europe/Paris" });
      },
      { timeoutMs: 20_000 },
    );
    expect(
      await sql("notification", "select opted_in from marketing_consents where user_id = ?", [userId]),
    ).toEqual([{ opted_in: false }]);
  });

  it("erases a deleted account in every subgraph, and lets an ADMIN see each erasure complete", async () => {
    const user = await register(env, uniqueEmail("erase"));
    await env.request(TrackEventDocument, { input: { name: "before.deletion" } }, { token: user.token });
    await eventually(async () => {
      expect(await sql("user", "select 1 from profiles where user_id = ?", [user.id])).toHaveLength(1);
      expect(
        await sql("notification", "select 1 from notifications where user_id = ?", [user.id]),
      ).not.toHaveLength(0);
      expect(await sql("notification", "select 1 from recipients where user_id = ?", [user.id])).toHaveLength(
        1,
      );
    });
    expect(
      (await env.request(DeleteMyAccountDocument, { password: PASSWORD }, { token: user.token })).data,
    ).toEqual({
      deleteMyAccount: true,
    });
    const erasure = await eventually(async () => {
      const response = await env.request(AccountErasureDocument, { userId: user.id }, { token: admin.token });
      expect(response.data!.accountErasure!.complete).toBe(true);
      return response.data!.accountErasure!;
    });
    expect(erasure.steps.map((step) => step.subgraph).sort()).toEqual(["analytics", "notification", "user"]);
    // The registration, the verification request (domain events) and the tracked event.
    expect(erasure.steps.find((step) => step.subgraph === "analytics")!.erasedRecords).toBe(3);
    expect(await sql("user", "select 1 from profiles where user_id = ?", [user.id])).toHaveLength(0);
    expect(
      await sql("notification", "select 1 from notifications where user_id = ?", [user.id]),
    ).toHaveLength(0);
    expect(await sql("notification", "select 1 from recipients where user_id = ?", [user.id])).toHaveLength(
      0,
    );
    expect(await sql("analytics", "select 1 from events where user_id = ?", [user.id])).toHaveLength(0);
    expect(
      codesOf(await env.request(AccountErasureDocument, { userId: user.id }, { token: user.token })),
    ).toEqual(["UNAUTHENTICATED"]);
  });

  it("tells a user about a sign-in from a new device, by e-mail and in the inbox", async () => {
    const email = uniqueEmail("device");
    const user = await register(env, email);
    await login(env, email, PASSWORD, { "user-agent": "SomeOtherBrowser/9.0" });
    await eventually(async () => {
      const mail = env.mailbox.messages().find((m) => m.to.includes(email) && m.raw.includes("New sign-in"));
      expect(mail?.raw).toContain("SomeOtherBrowser/9.0");
    });
    const me = await env.request(MeDocument, {}, { token: user.token });
    expect(me.data!.me!.notifications.edges.map((e) => [e.node.channel, e.node.kind])).toEqual(
      expect.arrayContaining([
        ["IN_APP", "security-alert"],
        ["EMAIL", "security-alert"],
      ]),
    );
    // The same device again is not news.
    await login(env, email, PASSWORD, { "user-agent": "SomeOtherBrowser/9.0" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      env.mailbox.messages().filter((m) => m.to.includes(email) && m.raw.includes("New sign-in")),
    ).toHaveLength(1);
  });

  it("lets several relays drain one outbox without publishing any event twice", async () => {
    const db = env.supergraph.subgraphs.auth.db;
    const seen: string[] = [];
    const queue = `test.relays.${process.pid}`;
    const unsubscribe = await env.supergraph.bus.subscribe(
      subscription(queue, [
        handle(UserRegistered, async (_payload, event: EventEnvelope) => void seen.push(event.id)),
      ]),
    );
    const logger = createLogger("test", "silent");
    try {
      const em = db.orm.em.fork();
      const staged = Array.from({ length: 200 }, (_, i) =>
        stageEvent(
          em,
          UserRegistered,
          {
            userId: crypto.randomUUID(),
            email: `relay-${i}@example.com`,
            displayName: "Relay",
            locale: "en",
          },
          { producer: "test", correlationId: `relays-${i}` },
        ),
      );
      const relays = [1, 2, 3].map(
        () =>
          new OutboxRelay({
            db,
            databaseUrl: env.supergraph.subgraphs.auth.db.orm.config.get("clientUrl")!,
            bus: env.supergraph.bus,
            logger,
            batchSize: 7,
            pollIntervalMs: 50,
          }),
      );
      await Promise.all(relays.map((relay) => relay.start()));
      await em.flush();
      try {
        await eventually(async () => {
          const ids = new Set(staged.map((event) => event.id));
          expect(seen.filter((id) => ids.has(id)).length).toBe(200);
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(new Set(seen).size).toBe(seen.length);
      } finally {
        await Promise.all(relays.map((relay) => relay.stop()));
      }
    } finally {
      await unsubscribe();
      await env.deleteQueues([queue]);
    }
  });
});

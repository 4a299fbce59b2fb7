/* eslint-disable max-lines -- every case runs against one started supergraph (seconds to
   start) and its first ADMIN; splitting the file would start another. */
import { randomUUID } from "node:crypto";

import {
  MarkAllNotificationsReadDocument,
  MarkNotificationReadDocument,
  MyNotificationPreferencesDocument,
  MyNotificationsDocument,
  type NotificationChannel,
  RequestPasswordResetDocument,
  SendNotificationDocument,
  UpdateNotificationPreferencesDocument,
  UpdatePreferencesDocument,
} from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { codesOf, type GraphQLResponse } from "../support/graphql-client";
import {
  apiKeyHeaders,
  firstAdmin,
  rawDocument,
  register,
  registerKnownRecipient,
  type SignedIn,
  tokenFromMail,
  uniqueEmail,
} from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";

// The inbox, per-channel preferences and ADMIN messages, through the router on real PostgreSQL,
// Redis and RabbitMQ, with a real SMTP server recording the e-mail that goes out.

const ADMIN_EMAIL = `inbox-root-${process.pid}@example.com`;
const ALL_ENABLED = ["EMAIL", "SMS", "PUSH", "IN_APP"].map((channel) => ({ channel, enabled: true }));

const USER_PREFERENCES = rawDocument<
  {
    user: {
      id: string;
      notificationPreferences: { channels: { channel: string; enabled: boolean }[] };
    } | null;
  },
  { id: string }
>("query($id: ID!) { user(id: $id) { id notificationPreferences { channels { channel enabled } } } }");

const fieldOf = (response: GraphQLResponse<unknown>) => response.errors?.[0]?.extensions?.field;

describeWithServices(
  ["postgres", "redis", "rabbitmq"],
  "notifications: inbox, preferences, ADMIN sends",
  () => {
    let env: TestSupergraph;
    let admin: SignedIn;

    beforeAll(async () => {
      env = await startTestSupergraph("services", { auth: { adminEmails: [ADMIN_EMAIL] } });
      const root = await firstAdmin(env, ADMIN_EMAIL);
      expect(root.roles).toContain("ADMIN");
      admin = root;
    }, 60_000);

    afterAll(async () => {
      await env?.stop();
    });

    const inbox = async (user: SignedIn, unreadOnly = false, first = 50) => {
      const response = await env.request(
        MyNotificationsDocument,
        { first, unreadOnly },
        { token: user.token },
      );
      expect(response.errors).toBeUndefined();
      return response.data!.me!;
    };

    const knownUser = (label: string) => registerKnownRecipient(env, label);

    const send = (
      userIds: string[],
      channel: NotificationChannel,
      title = "Maintenance",
      body = "Tonight at 22:00.",
    ) =>
      env.request(
        SendNotificationDocument,
        { input: { userIds, channel, title, body } },
        { token: admin.token },
      );

    const setMarketing = async (user: SignedIn, marketingOptIn: boolean) => {
      const response = await env.request(
        UpdatePreferencesDocument,
        { input: { marketingOptIn } },
        { token: user.token },
      );
      expect(response.errors).toBeUndefined();
      expect(response.data!.updatePreferences.preferences.marketingOptIn).toBe(marketingOptIn);
    };

    const sendMarketing = (userIds: string[], channel: NotificationChannel, title: string) =>
      env.request(
        SendNotificationDocument,
        { input: { userIds, channel, title, body: "Our new plan.", marketing: true } },
        { token: admin.token },
      );

    const setPreferences = (user: SignedIn, channels: { channel: NotificationChannel; enabled: boolean }[]) =>
      env.request(UpdateNotificationPreferencesDocument, { channels }, { token: user.token });

    describe("preferences", () => {
      it("start with every channel enabled and keep what the user switches", async () => {
        const ann = await register(env, uniqueEmail("ann"));
        const initial = await env.request(MyNotificationPreferencesDocument, {}, { token: ann.token });
        expect(initial.data?.me?.notificationPreferences.channels).toEqual(ALL_ENABLED);

        const updated = await setPreferences(ann, [
          { channel: "EMAIL", enabled: false },
          { channel: "SMS", enabled: false },
        ]);
        expect(updated.errors).toBeUndefined();
        const expected = [
          { channel: "EMAIL", enabled: false },
          { channel: "SMS", enabled: false },
          { channel: "PUSH", enabled: true },
          { channel: "IN_APP", enabled: true },
        ];
        expect(updated.data?.updateNotificationPreferences.channels).toEqual(expected);
        // Channels not named keep their setting; a channel can be switched back on.
        const again = await setPreferences(ann, [{ channel: "SMS", enabled: true }]);
        expected[1]!.enabled = true;
        expect(again.data?.updateNotificationPreferences.channels).toEqual(expected);
        const read = await env.request(MyNotificationPreferencesDocument, {}, { token: ann.token });
        expect(read.data?.me?.notificationPreferences.channels).toEqual(expected);
      });

      it("are visible to the user and ADMIN only, and changed by the user only", async () => {
        // Through the router another user's entity is reached by `user(id:)` only, which the user
        // subgraph already keeps to self or ADMIN; the field's own rule is exercised with API keys below.
        const owner = await register(env, uniqueEmail("owner"));
        const other = await register(env, uniqueEmail("other"));
        expect(
          codesOf(await env.request(USER_PREFERENCES, { id: owner.id }, { token: other.token })),
        ).toEqual(["FORBIDDEN"]);
        const byAdmin = await env.request(USER_PREFERENCES, { id: owner.id }, { token: admin.token });
        expect(byAdmin.data?.user?.notificationPreferences.channels).toEqual(ALL_ENABLED);
        const anonymous = await env.request(UpdateNotificationPreferencesDocument, {
          channels: [{ channel: "EMAIL", enabled: false }],
        });
        expect(codesOf(anonymous)).toEqual(["UNAUTHENTICATED"]);
      });

      it("follow API key scopes: notifications:read to read, notifications:write to change", async () => {
        const owner = await register(env, uniqueEmail("keys"));
        const key = (scopes: string[]) => apiKeyHeaders(env, owner, scopes);
        const reader = await key(["notifications:read"]);
        const writer = await key(["notifications:write"]);
        const profile = await key(["user:read"]);

        const read = await env.request(MyNotificationPreferencesDocument, {}, reader);
        expect(read.data?.me?.notificationPreferences.channels).toEqual(ALL_ENABLED);
        // `me` is open to this key: the preferences field's own rule refuses it.
        const refused = await env.request(MyNotificationPreferencesDocument, {}, profile);
        expect(codesOf(refused)).toEqual(["FORBIDDEN"]);
        expect(refused.errors![0]!.path).toEqual(["me", "notificationPreferences"]);
        const change = { channels: [{ channel: "PUSH" as const, enabled: false }] };
        expect(codesOf(await env.request(UpdateNotificationPreferencesDocument, change, reader))).toEqual([
          "FORBIDDEN",
        ]);
        const written = await env.request(UpdateNotificationPreferencesDocument, change, writer);
        expect(written.data?.updateNotificationPreferences.channels).toContainEqual({
          channel: "PUSH",
          enabled: false,
        });
        // A key never gets ADMIN powers without the admin scope.
        const sent = await env.request(
          SendNotificationDocument,
          { input: { userIds: [owner.id], channel: "IN_APP", title: "t", body: "b" } },
          writer,
        );
        expect(codesOf(sent)).toEqual(["FORBIDDEN"]);
      });

      it("refuse duplicate and unknown channels with BAD_USER_INPUT", async () => {
        const user = await register(env, uniqueEmail("dup"));
        const duplicate = await setPreferences(user, [
          { channel: "EMAIL", enabled: false },
          { channel: "EMAIL", enabled: true },
        ]);
        expect(codesOf(duplicate)).toEqual(["BAD_USER_INPUT"]);
        expect(fieldOf(duplicate)).toBe("channels.1.channel");
        // An unknown enum value is refused while the variables are coerced, before any subgraph runs.
        const unknown = await env.request(
          rawDocument(
            "mutation($channels: [ChannelPreferenceInput!]!) { updateNotificationPreferences(channels: $channels) { channels { channel } } }",
          ),
          { channels: [{ channel: "FAX", enabled: true }] },
          { token: user.token },
        );
        expect(codesOf(unknown)).toEqual(["BAD_USER_INPUT"]);
        const read = await env.request(MyNotificationPreferencesDocument, {}, { token: user.token });
        expect(read.data?.me?.notificationPreferences.channels).toEqual(ALL_ENABLED);
      });

      it("never hold back security messages: a password reset is mailed with e-mail switched off", async () => {
        const user = await register(env, uniqueEmail("secure"));
        expect((await setPreferences(user, [{ channel: "EMAIL", enabled: false }])).errors).toBeUndefined();
        const requested = await env.request(RequestPasswordResetDocument, { email: user.email });
        expect(requested.errors).toBeUndefined();
        expect(await tokenFromMail(env.mailbox, user.email, "/reset-password")).toMatch(
          /^[A-Za-z0-9_-]{43}$/,
        );
      });
    });

    describe("inbox", () => {
      it("filters unread notifications, marks them all read, and counts what it marked", async () => {
        const user = await knownUser("reader");
        const sent = await send([user.id], "IN_APP", "First", "one");
        expect(sent.errors).toBeUndefined();
        await send([user.id], "IN_APP", "Second", "two");
        const before = await inbox(user);
        const total = before.notifications.totalCount;
        expect(before.unreadNotificationCount).toBe(total);
        expect(before.notifications.edges.map((e) => e.node.title).slice(0, 2)).toEqual(["Second", "First"]);

        // One read by hand: unreadOnly leaves it out.
        const first = before.notifications.edges.find((e) => e.node.title === "First")!.node;
        expect(
          (await env.request(MarkNotificationReadDocument, { id: first.id }, { token: user.token })).errors,
        ).toBeUndefined();
        const unread = await inbox(user, true);
        expect(unread.notifications.totalCount).toBe(total - 1);
        expect(unread.notifications.edges.every((e) => e.node.readAt === null)).toBe(true);
        expect(unread.notifications.edges.map((e) => e.node.id)).not.toContain(first.id);

        // Pages of unread ones follow the cursor.
        const page = await env.request(
          MyNotificationsDocument,
          { first: 1, unreadOnly: true },
          { token: user.token },
        );
        const cursor = page.data!.me!.notifications.pageInfo.endCursor!;
        const next = await env.request(
          MyNotificationsDocument,
          { first: 50, after: cursor, unreadOnly: true },
          { token: user.token },
        );
        expect(next.data!.me!.notifications.edges).toHaveLength(total - 2);

        const marked = await env.request(MarkAllNotificationsReadDocument, {}, { token: user.token });
        expect(marked.data?.markAllNotificationsRead).toBe(total - 1);
        const after = await inbox(user, true);
        expect(after.unreadNotificationCount).toBe(0);
        expect(after.notifications.totalCount).toBe(0);
        expect((await inbox(user)).notifications.totalCount).toBe(total);
        const again = await env.request(MarkAllNotificationsReadDocument, {}, { token: user.token });
        expect(again.data?.markAllNotificationsRead).toBe(0);
      });

      it("marks only the caller's notifications read", async () => {
        const one = await knownUser("one");
        const two = await knownUser("two");
        await send([one.id, two.id], "IN_APP");
        await env.request(MarkAllNotificationsReadDocument, {}, { token: one.token });
        expect((await inbox(one)).unreadNotificationCount).toBe(0);
        expect((await inbox(two)).unreadNotificationCount).toBeGreaterThan(0);
        expect(codesOf(await env.request(MarkAllNotificationsReadDocument, {}))).toEqual(["UNAUTHENTICATED"]);
      });
    });

    describe("sendNotification", () => {
      it("delivers in-app at once to every user, once each", async () => {
        const a = await knownUser("a");
        const b = await knownUser("b");
        const sent = await send([a.id, b.id, a.id.toUpperCase()], "IN_APP", "Hello", "Two users");
        expect(sent.errors).toBeUndefined();
        expect(sent.data!.sendNotification).toHaveLength(2);
        for (const notification of sent.data!.sendNotification)
          expect(notification).toMatchObject({
            channel: "IN_APP",
            kind: "admin-message",
            title: "Hello",
            body: "Two users",
            status: "DELIVERED",
            readAt: null,
          });
        for (const user of [a, b])
          expect((await inbox(user)).notifications.edges[0]!.node).toMatchObject({
            title: "Hello",
            status: "DELIVERED",
          });
      });

      it("e-mails through the dispatcher (escaped HTML) and skips users who switched e-mail off", async () => {
        const wants = await knownUser("wants-mail");
        const refuses = await knownUser("no-mail");
        await setPreferences(refuses, [{ channel: "EMAIL", enabled: false }]);
        const title = `Release ${randomUUID().slice(0, 8)}`;
        const sent = await send(
          [wants.id, refuses.id],
          "EMAIL",
          title,
          "New <b>features</b> & fixes.\n\nEnjoy.",
        );
        expect(sent.errors).toBeUndefined();
        expect(sent.data!.sendNotification).toHaveLength(1);
        expect(sent.data!.sendNotification[0]).toMatchObject({ channel: "EMAIL", status: "PENDING", title });

        const mail = await eventually(() => {
          const found = env.mailbox
            .messages()
            .find((m) => m.to.includes(wants.email) && m.raw.includes(title));
          if (!found) throw new Error("no mail yet");
          return found;
        });
        const raw = mail.raw.replace(/=\r?\n/g, "").replace(/=3D/gi, "=");
        expect(raw).toContain("New &lt;b&gt;features&lt;/b&gt; &amp; fixes.");
        expect(raw).not.toContain("<b>features</b></p>");
        await eventually(async () =>
          expect(
            (await inbox(wants)).notifications.edges.find((e) => e.node.title === title)?.node.status,
          ).toBe("SENT"),
        );
        expect(
          env.mailbox.messages().some((m) => m.to.includes(refuses.email) && m.raw.includes(title)),
        ).toBe(false);
        expect((await inbox(refuses)).notifications.edges.some((e) => e.node.title === title)).toBe(false);
      });

      it("records SMS and push PENDING until a provider is configured", async () => {
        const user = await knownUser("phone");
        for (const channel of ["SMS", "PUSH"] as const) {
          const sent = await send([user.id], channel, `Via ${channel}`);
          expect(sent.data?.sendNotification).toEqual([
            expect.objectContaining({ channel, status: "PENDING", title: `Via ${channel}` }),
          ]);
        }
      });

      it("is for ADMIN only", async () => {
        const user = await knownUser("plain");
        const input = { userIds: [user.id], channel: "IN_APP" as const, title: "t", body: "b" };
        expect(
          codesOf(await env.request(SendNotificationDocument, { input }, { token: user.token })),
        ).toEqual(["FORBIDDEN"]);
        expect(codesOf(await env.request(SendNotificationDocument, { input }))).toEqual(["UNAUTHENTICATED"]);
      });

      it("refuses bad input with BAD_USER_INPUT naming the field, and sends nothing", async () => {
        const user = await knownUser("target");
        const cases: [string[], string, string, string][] = [
          [[], "t", "b", "input.userIds"],
          [["not-a-uuid"], "t", "b", "input.userIds.0"],
          [[user.id, randomUUID()], "t", "b", "input.userIds.1"],
          [[user.id], "  ", "b", "input.title"],
          [[user.id], "x".repeat(201), "b", "input.title"],
          [[user.id], "t", "", "input.body"],
          [[user.id], "t", "x".repeat(5001), "input.body"],
        ];
        for (const [userIds, title, body, field] of cases) {
          const response = await send(userIds, "IN_APP", title, body);
          expect([field, codesOf(response)]).toEqual([field, ["BAD_USER_INPUT"]]);
          expect(fieldOf(response)).toBe(field);
        }
        const unknownChannel = await env.request(
          rawDocument("mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id } }"),
          { input: { userIds: [user.id], channel: "FAX", title: "t", body: "b" } },
          { token: admin.token },
        );
        expect(codesOf(unknownChannel)).toEqual(["BAD_USER_INPUT"]);
        expect((await inbox(user)).notifications.edges.some((e) => e.node.kind === "admin-message")).toBe(
          false,
        );
      });

      it("sends marketing only to users who opted in, as the user subgraph's event told it", async () => {
        const fan = await knownUser("fan");
        const quiet = await knownUser("quiet");
        const later = await knownUser("later");
        const marker = await knownUser("marker");
        await setMarketing(fan, true);
        await setMarketing(later, true);
        await setMarketing(later, false);
        // Consents reach this subgraph by event, in order on one queue: once the marker's (the last
        // one) is there, so are the others. Probed in-app, so no e-mail goes out meanwhile.
        await setMarketing(marker, true);
        await eventually(async () =>
          expect((await sendMarketing([marker.id], "IN_APP", "probe")).data!.sendNotification).toHaveLength(
            1,
          ),
        );

        const title = `Offer ${randomUUID().slice(0, 8)}`;
        const response = await sendMarketing([fan.id, quiet.id, later.id], "EMAIL", title);
        expect(response.errors).toBeUndefined();
        const sent = response.data!.sendNotification;
        expect(sent.map((n) => n.kind)).toEqual(["marketing"]);
        expect(sent).toHaveLength(1);
        const mail = await eventually(() => {
          const found = env.mailbox.messages().find((m) => m.to.includes(fan.email) && m.raw.includes(title));
          if (!found) throw new Error("no mail yet");
          return found;
        });
        expect(mail.raw.replace(/=\r?\n/g, "")).toContain("settings/notifications");
        for (const other of [quiet, later])
          expect(
            env.mailbox.messages().some((m) => m.to.includes(other.email) && m.raw.includes(title)),
          ).toBe(false);
        // The same message without `marketing` is an ordinary ADMIN message: everyone gets it.
        expect(
          (await send([fan.id, quiet.id, later.id], "IN_APP", title)).data!.sendNotification,
        ).toHaveLength(3);
      });

      it("stops marketing once the user opts out, and still respects a channel switched off", async () => {
        const user = await knownUser("unsubscriber");
        await setMarketing(user, true);
        await eventually(async () =>
          expect((await sendMarketing([user.id], "IN_APP", "first")).data!.sendNotification).toHaveLength(1),
        );
        await setPreferences(user, [{ channel: "IN_APP", enabled: false }]);
        expect((await sendMarketing([user.id], "IN_APP", "second")).data!.sendNotification).toEqual([]);
        await setPreferences(user, [{ channel: "IN_APP", enabled: true }]);
        await setMarketing(user, false);
        // Until the opt-out arrives by event a send may still reach the user; after it, none does.
        await eventually(async () =>
          expect((await sendMarketing([user.id], "IN_APP", "racing")).data!.sendNotification).toEqual([]),
        );
        expect((await sendMarketing([user.id], "IN_APP", "after")).data!.sendNotification).toEqual([]);
        const titles = (await inbox(user)).notifications.edges
          .filter((e) => e.node.kind === "marketing")
          .map((e) => e.node.title);
        expect(titles).toContain("first");
        expect(titles).not.toContain("second");
        expect(titles).not.toContain("after");
      });

      it("caps one send at 1000 users", async () => {
        // 1001 ids fit the router's variables limit; the subgraph refuses them, naming the field.
        const response = await send(
          Array.from({ length: 1001 }, () => randomUUID()),
          "IN_APP",
          "t",
          "b",
        );
        expect(codesOf(response)).toEqual(["BAD_USER_INPUT"]);
        expect(response.errors![0]!.extensions!.field).toBe("input.userIds");
        expect(response.errors![0]!.message).toMatch(/at most 1000 users/);
      });
    });
  },
);

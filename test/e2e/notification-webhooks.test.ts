import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import {
  MyNotificationsDocument,
  type NotificationChannel,
  SendNotificationDocument,
} from "../../schema/generated/graphql";
import { NotificationChannel as Channel } from "../../subgraphs/notification/entities/notification.entity";
import {
  createWebhookProvider,
  SIGNATURE_HEADER,
  signWebhook,
} from "../../subgraphs/notification/services/webhooks";
import { eventually } from "../support/async";
import { firstAdmin, registerKnownRecipient, type SignedIn } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";

// SMS and push through the webhook provider: ADMIN sendNotification through the router, the
// DeliveryDispatcher POSTs signed JSON to a real local HTTP server, retries what it refuses.

const ADMIN_EMAIL = `webhook-root-${process.pid}@example.com`;
const SECRET = "test-webhook-secret-0123456789";

interface Received {
  path: string;
  signature: string | undefined;
  raw: string;
  body: Record<string, unknown>;
  answered: number;
}

/** How a receiver verifies a webhook: HMAC-SHA256 over `${t}.${raw body}`, compared in constant time. */
function verify(signature: string | undefined, raw: string, secret: string): boolean {
  const parts = Object.fromEntries(
    (signature ?? "").split(",").map((p) => p.split("=", 2) as [string, string]),
  );
  if (!parts.t || !parts.v1) return false;
  if (Math.abs(Date.now() / 1000 - Number(parts.t)) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${parts.t}.${raw}`).digest();
  const given = Buffer.from(parts.v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describeWithServices(["postgres", "redis", "rabbitmq"], "notifications: SMS and push webhooks", () => {
  let env: TestSupergraph;
  let admin: SignedIn;
  let server: Server;
  const received: Received[] = [];

  /** Answers 500 to the first request of a title starting "flaky", always 503 to "broken", else 200. */
  const statusFor = (body: Record<string, unknown>) => {
    const title = String(body.title);
    if (title.startsWith("broken")) return 503;
    if (title.startsWith("flaky") && !received.some((r) => r.body.id === body.id)) return 500;
    return 200;
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const body = JSON.parse(raw) as Record<string, unknown>;
        const answered = statusFor(body);
        received.push({
          path: request.url ?? "",
          signature: request.headers[SIGNATURE_HEADER] as string | undefined,
          raw,
          body,
          answered,
        });
        response.statusCode = answered;
        response.end(answered === 200 ? "ok" : "nope");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    env = await startTestSupergraph("services", {
      auth: { adminEmails: [ADMIN_EMAIL] },
      mailDispatch: { sweepIntervalMs: 100, backoffBaseMs: 100, maxAttempts: 3 },
      webhooks: {
        urls: { SMS: `http://127.0.0.1:${port}/sms`, PUSH: `http://127.0.0.1:${port}/push` },
        signingSecret: SECRET,
      },
    });
    admin = await firstAdmin(env, ADMIN_EMAIL);
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  const statusOf = async (user: SignedIn, id: string) => {
    const response = await env.request(MyNotificationsDocument, { first: 50 }, { token: user.token });
    return response.data?.me?.notifications.edges.find((e) => e.node.id === id)?.node.status;
  };

  const knownUser = (label: string) => registerKnownRecipient(env, label);

  async function send(
    user: SignedIn,
    channel: NotificationChannel,
    title: string,
    body = "Your code is 1234",
  ) {
    const sent = await env.request(
      SendNotificationDocument,
      { input: { userIds: [user.id], channel, title, body } },
      { token: admin.token },
    );
    expect(sent.errors).toBeUndefined();
    expect(sent.data!.sendNotification).toEqual([
      expect.objectContaining({ channel, status: "PENDING", title }),
    ]);
    return sent.data!.sendNotification[0]!;
  }

  it.each([
    ["SMS", "/sms"],
    ["PUSH", "/push"],
  ] as const)("POSTs a %s as signed JSON naming the user, then records it SENT", async (channel, path) => {
    const user = await knownUser(channel.toLowerCase());
    const title = `Hello by ${channel}`;
    const notification = await send(user, channel, title);

    const hit = await eventually(() => {
      const found = received.find((r) => r.body.id === notification.id);
      if (!found) throw new Error("no webhook yet");
      return found;
    });
    expect(hit.path).toBe(path);
    expect(hit.body).toEqual({
      id: notification.id,
      channel,
      userId: user.id,
      title,
      body: "Your code is 1234",
      kind: "admin-message",
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(new Date(hit.body.createdAt as string).toISOString()).toBe(
      new Date(notification.createdAt as string).toISOString(),
    );
    expect(hit.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verify(hit.signature, hit.raw, SECRET)).toBe(true);
    expect(verify(hit.signature, hit.raw.replace("1234", "9999"), SECRET)).toBe(false);
    expect(verify(hit.signature, hit.raw, "another-secret-0123456789")).toBe(false);

    await eventually(async () => expect(await statusOf(user, notification.id)).toBe("SENT"));
    expect(received.filter((r) => r.body.id === notification.id)).toHaveLength(1);
  });

  it("retries a delivery the receiver refused (500) and sends it once it answers 200", async () => {
    const user = await knownUser("flaky");
    const notification = await send(user, "SMS", "flaky network");
    await eventually(async () => expect(await statusOf(user, notification.id)).toBe("SENT"));
    // Settle: a second success would show up within a few sweeps.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const hits = received.filter((r) => r.body.id === notification.id);
    expect(hits.map((r) => r.answered)).toEqual([500, 200]);
    for (const hit of hits) expect(verify(hit.signature, hit.raw, SECRET)).toBe(true);
  });

  it("gives up after the last attempt: FAILED with the receiver's answer as the reason", async () => {
    const user = await knownUser("broken");
    const notification = await send(user, "PUSH", "broken receiver");
    await eventually(async () => expect(await statusOf(user, notification.id)).toBe("FAILED"));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(received.filter((r) => r.body.id === notification.id).map((r) => r.answered)).toEqual([
      503, 503, 503,
    ]);
    const [row] = await env.supergraph.subgraphs.notification.db.orm.em
      .fork()
      .execute<{ attempts: number; last_error: string }[]>(
        `select attempts, last_error from notifications where id = ?`,
        [notification.id],
      );
    expect(row).toEqual({ attempts: 3, last_error: "webhook answered 503: nope" });
  });
});

describe("webhook provider without an endpoint (embedded mode)", () => {
  it("writes each payload as a JSON file to the outbox; with neither, the channel has no provider", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "orion-webhooks-"));
    try {
      const outbox = path.join(dir, "webhooks");
      const provider = createWebhookProvider({ urls: {}, outboxDir: outbox });
      expect(provider.channels).toEqual([Channel.SMS, Channel.PUSH]);
      const payload = {
        id: randomUUID(),
        channel: Channel.SMS,
        userId: randomUUID(),
        title: "Hi",
        body: "Code 1",
        kind: "admin-message",
        createdAt: new Date().toISOString(),
      } as const;
      await provider.send(payload);
      const files = readdirSync(outbox);
      expect(files).toEqual([expect.stringMatching(new RegExp(`-sms-${payload.id}-[0-9a-f]{8}\\.json$`))]);
      expect(JSON.parse(readFileSync(path.join(outbox, files[0]!), "utf8"))).toEqual(payload);

      expect(createWebhookProvider({ urls: { PUSH: "http://127.0.0.1:9/push" } }).channels).toEqual([
        Channel.PUSH,
      ]);
      await expect(createWebhookProvider({ urls: {} }).send(payload)).rejects.toThrow("no provider");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("signs `${t}.${body}` with HMAC-SHA256", () => {
    const signature = signWebhook(SECRET, '{"a":1}', 1700000000);
    const mac = createHmac("sha256", SECRET).update('1700000000.{"a":1}').digest("hex");
    expect(signature).toBe(`t=1700000000,v1=${mac}`);
  });
});

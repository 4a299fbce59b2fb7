import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import { DATABASE_VARIABLES, SUBGRAPH_NAMES } from "../../platform/config";
import { dropDatabase } from "../../platform/database/database";
import { generateKeyMaterial } from "../../platform/identity/keys";
import { eventually } from "../support/async";
import { orion } from "../support/cli";
import { PASSWORD } from "../support/identity";
import {
  databaseUrl,
  deleteRabbitMqObjects,
  describeWithServices,
  REAL_SERVICES,
  runId,
} from "../support/services";
import { startSmtpServer } from "../support/smtp";
import { connectTestRedis, consumerQueues } from "../support/supergraph-fixture";

// OpenTelemetry through a real process: `orion start` on embedded defaults exports its spans over
// OTLP/HTTP to a receiver run by the test, and one trace spans the router, the subgraphs, the
// database and the consumers of the events the request produced.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** An OTLP/HTTP receiver (JSON encoding, as @opentelemetry/exporter-trace-otlp-http sends it). */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      if (request.url === "/v1/traces") {
        const payload = JSON.parse(body) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const resource of payload.resourceSpans)
          for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : String(value.intValue));
};

/**
 * Starts `orion start` with `env`, registers one user with a client trace id, and returns that
 * trace once every consumer of the registration has reported its span; checks what every mode
 * must show, then stops the process (exit 0: buffered spans are flushed on the way out).
 */
async function followRegistration(env: Record<string, string>): Promise<OtlpSpan[]> {
  const receiver = await startReceiver();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "orion-trace-"));
  const { child, exited, output } = orion(["start"], {
    ORION_DATA_DIR: dataDir,
    ...env,
    ROUTER_PORT: "0",
    AUTH_PORT: "0",
    USER_PORT: "0",
    NOTIFICATION_PORT: "0",
    ANALYTICS_PORT: "0",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "200",
  });
  try {
    const routerUrl = await eventually(
      () => {
        const match = /Router: +(\S+)/.exec(output().stdout);
        if (!match) throw new Error(`not ready yet\n${output().stderr}`);
        return match[1]!;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    // The client's own trace: the router continues it.
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await fetch(routerUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({
        query:
          "mutation Register($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }",
        variables: {
          input: {
            email: `traced-${process.pid}@example.com`,
            password: PASSWORD,
            displayName: "Traced",
          },
        },
      }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();
    expect(response.headers.get("traceparent")).toBeNull(); // nothing of the trace is echoed

    const trace = await eventually(
      () => {
        const mine = receiver.spans.filter((span) => span.traceId === traceId);
        const consumers = mine.filter((span) => span.name.startsWith("consume "));
        for (const queue of ["notification.welcome", "user.profiles", "analytics.domain-events"])
          if (!consumers.some((span) => span.name === `consume ${queue} auth.user.registered`))
            throw new Error(`no consumer span of ${queue} yet: ${mine.map((s) => s.name).join(", ")}`);
        return mine;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const routerPort = new URL(routerUrl).port;
    const servers = trace.filter((span) => span.kind === 2); // SERVER
    const clients = trace.filter((span) => span.kind === 3); // CLIENT
    expect(
      servers.some(
        (span) => String(attribute(span, "server.port") ?? attribute(span, "net.host.port")) === routerPort,
      ),
    ).toBe(true);
    // The router's fetch to auth, and auth's own server span as its child.
    const authFetch = clients.find(
      (span) =>
        /\/graphql/.test(attribute(span, "url.full") ?? attribute(span, "http.url") ?? "") &&
        span.name.startsWith("POST"),
    );
    expect(authFetch).toBeDefined();
    expect(servers.some((span) => span.parentSpanId === authFetch!.spanId)).toBe(true);
    // The database, inside the trace.
    expect(
      trace.some(
        (span) =>
          span.name.startsWith("pg.query") &&
          (attribute(span, "db.system") ?? attribute(span, "db.system.name")) === "postgresql",
      ),
    ).toBe(true);
    // Each consumer span hangs off the trace (its parent is a span of this trace).
    const ids = new Set(trace.map((span) => span.spanId));
    for (const consumer of trace.filter((span) => span.name.startsWith("consume ")))
      expect([consumer.name, ids.has(consumer.parentSpanId ?? "")]).toEqual([consumer.name, true]);

    // Nothing personal in any span: MikroORM inlines values into its SQL, and they are masked.
    const exported = JSON.stringify(receiver.spans);
    expect(exported).not.toContain(`traced-${process.pid}@example.com`);
    expect(exported).not.toContain(PASSWORD);
    expect(exported).not.toMatch(/\$2[aby]\$/); // a bcrypt hash

    // A client cannot switch tracing off: a not-sampled parent is traced all the same.
    const unsampled = "0af7651916cd43dd8448eb211c80319c";
    await fetch(routerUrl, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${unsampled}-b7ad6b7169203331-00` },
      body: JSON.stringify({ query: "query Hello { __typename }" }),
    });
    await eventually(() => {
      if (!receiver.spans.some((span) => span.traceId === unsampled)) throw new Error("not exported yet");
    });

    // A malformed traceparent (well-formed ids, but version ff, which W3C forbids) starts a new
    // trace instead of being followed.
    const refusedTrace = "d4cda95b652f4a1592b449d5929fda1b";
    const before = new Set(receiver.spans.map((span) => span.traceId));
    await fetch(routerUrl, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `ff-${refusedTrace}-6e0c63257de34c92-01` },
      body: JSON.stringify({ query: "query Hello { __typename }" }),
    });
    await eventually(() => {
      const fresh = receiver.spans.filter((span) => !before.has(span.traceId) && span.kind === 2);
      if (fresh.length === 0) throw new Error("no new trace yet");
    });
    expect(receiver.spans.some((span) => span.traceId === refusedTrace)).toBe(false);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    return trace;
  } finally {
    child.kill("SIGKILL");
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe("tracing (OpenTelemetry over OTLP)", () => {
  it("follows one request from the router through the subgraphs and the database to the event consumers (embedded)", async () => {
    await followRegistration({});
  }, 150_000);
});

describeWithServices(["postgres", "redis", "rabbitmq"], "tracing on real services", () => {
  it("follows the request through Redis and RabbitMQ too", async () => {
    const id = runId();
    const keys = generateKeyMaterial();
    const smtp = await startSmtpServer();
    const databases = Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => [DATABASE_VARIABLES[name], databaseUrl(`orion_test_${id}_trace_${name}`)]),
    );
    const exchange = `orion.test.${id}.trace`;
    const prefix = `test:${id}:trace:`;
    try {
      const trace = await followRegistration({
        ...databases,
        REDIS_URL: REAL_SERVICES.redis.url,
        REDIS_KEY_PREFIX: prefix,
        AMQP_URL: REAL_SERVICES.rabbitmq.url,
        AMQP_EXCHANGE: exchange,
        IDENTITY_PRIVATE_KEY: keys.identityPrivateKey,
        IDENTITY_PUBLIC_KEY: keys.identityPublicKey,
        AUTH_SIGNING_KEY: keys.authSigningKey,
        AUTH_PASSWORD_PEPPER: keys.passwordPepper,
        SMTP_URL: smtp.url,
        MAIL_FROM: "ORION <no-reply@orion.test>",
      });
      // Redis commands (the session written at registration), by name only.
      const redis = trace.filter(
        (span) => (attribute(span, "db.system") ?? attribute(span, "db.system.name")) === "redis",
      );
      expect(redis.length).toBeGreaterThan(0);
      expect(
        redis.every(
          (span) =>
            !/[0-9a-f]{8}-[0-9a-f]{4}/.test(
              attribute(span, "db.statement") ?? attribute(span, "db.query.text") ?? "",
            ),
        ),
      ).toBe(true);
      // The broker: the relay's publishes, in the request's trace.
      expect(trace.some((span) => span.kind === 4 && /send|publish/.test(span.name))).toBe(true); // PRODUCER
    } finally {
      await smtp.close();
      for (const url of Object.values(databases)) await dropDatabase(url);
      await deleteRabbitMqObjects(exchange, consumerQueues());
      const store = await connectTestRedis(prefix);
      await store.clear();
      await store.close();
    }
  }, 180_000);
});

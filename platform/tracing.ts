import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type * as OtlpHttp from "@opentelemetry/exporter-trace-otlp-http";
import type * as Instrumentation from "@opentelemetry/instrumentation";
import type * as AmqplibInstr from "@opentelemetry/instrumentation-amqplib";
import type * as GraphqlInstr from "@opentelemetry/instrumentation-graphql";
import type * as HttpInstr from "@opentelemetry/instrumentation-http";
import type * as PgInstr from "@opentelemetry/instrumentation-pg";
import type * as RedisInstr from "@opentelemetry/instrumentation-redis";
import type * as UndiciInstr from "@opentelemetry/instrumentation-undici";
import type * as Resources from "@opentelemetry/resources";
// Types only (erased at build): the modules themselves are required only when tracing is on.
import type * as SdkTraceNode from "@opentelemetry/sdk-trace-node";

/**
 * OpenTelemetry tracing. The SDK and its instrumentations (HTTP server and client, undici, pg,
 * Redis, amqplib, GraphQL) are loaded only when an OTLP endpoint is configured
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, as the OpenTelemetry
 * specification names them); otherwise nothing is loaded and the API calls below are no-ops.
 * W3C `traceparent` is propagated over HTTP, through the outbox (stored with each event) and in
 * AMQP headers, so one trace follows a request from the router to the consumers of its events.
 */

let provider: { shutdown(): Promise<void> } | null = null;

export const tracingConfigured = (env: NodeJS.ProcessEnv = process.env) =>
  Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) &&
  env.OTEL_SDK_DISABLED !== "true";

/**
 * Starts the SDK; call before the instrumented modules (http, pg, amqplib, undici, graphql) are
 * first required: cli/main.ts does it first thing.
 */
export function startTracing(serviceName: string): void {
  if (provider || !tracingConfigured()) return;
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when tracing is on */
  const SdkTraceNodeModule = () => require("@opentelemetry/sdk-trace-node") as typeof SdkTraceNode;
  const { NodeTracerProvider, BatchSpanProcessor } = SdkTraceNodeModule();
  const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-http") as typeof OtlpHttp;
  const { resourceFromAttributes } = require("@opentelemetry/resources") as typeof Resources;
  const { registerInstrumentations } = require("@opentelemetry/instrumentation") as typeof Instrumentation;
  const { HttpInstrumentation } = require("@opentelemetry/instrumentation-http") as typeof HttpInstr;
  const { UndiciInstrumentation } = require("@opentelemetry/instrumentation-undici") as typeof UndiciInstr;
  const { PgInstrumentation } = require("@opentelemetry/instrumentation-pg") as typeof PgInstr;
  const { AmqplibInstrumentation } = require("@opentelemetry/instrumentation-amqplib") as typeof AmqplibInstr;
  const { GraphQLInstrumentation } = require("@opentelemetry/instrumentation-graphql") as typeof GraphqlInstr;
  const { RedisInstrumentation } = require("@opentelemetry/instrumentation-redis") as typeof RedisInstr;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { AlwaysOnSampler, ParentBasedSampler } = SdkTraceNodeModule();
  const tracerProvider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": process.env.OTEL_SERVICE_NAME ?? serviceName }),
    // A client's `traceparent` is followed (its trace id ties the client's logs to ours), but its
    // sampled flag is not obeyed: a caller cannot switch tracing off for its own requests.
    sampler: new ParentBasedSampler({
      root: new AlwaysOnSampler(),
      remoteParentNotSampled: new AlwaysOnSampler(),
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  tracerProvider.register(); // W3C trace context and baggage propagators, AsyncLocalStorage context
  registerInstrumentations({
    tracerProvider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes would drown the traces that matter.
        ignoreIncomingRequestHook: (request) => /^\/(health|ready|metrics)\b/.test(request.url ?? ""),
      }),
      new UndiciInstrumentation(),
      // MikroORM writes values into the SQL text itself: the statement is recorded with every
      // literal replaced by ?, never an e-mail, a hash or an event payload. No spans outside a trace.
      new PgInstrumentation({
        enhancedDatabaseReporting: false,
        requireParentSpan: true,
        requestHook: (span, { query }) => {
          const text = withoutLiterals(query.text);
          span.setAttribute("db.statement", text);
          span.setAttribute("db.query.text", text);
        },
      }),
      new AmqplibInstrumentation(),
      // The command name only, never its keys (session ids) or values; no spans outside a trace.
      new RedisInstrumentation({ dbStatementSerializer: (command) => command, requireParentSpan: true }),
      new GraphQLInstrumentation({ mergeItems: true, ignoreTrivialResolveSpans: true, depth: 2 }),
    ],
  });
  provider = tracerProvider;
}

/**
 * A SQL statement with its string and number literals replaced by `?`: MikroORM inlines values,
 * which may be personal data or secrets.
 */
export function withoutLiterals(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'/g, "?").replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, "?");
}

/** Flushes and stops the SDK (on shutdown: spans still buffered are exported first). */
export async function stopTracing(): Promise<void> {
  const stopping = provider;
  provider = null;
  await stopping?.shutdown();
}

const tracer = () => trace.getTracer("orion");

/** The active trace context as a W3C `traceparent`, or undefined when nothing is traced. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** The context a stored or received `traceparent` continues (the root context when there is none). */
export function contextFrom(traceparent: string | undefined | null): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** Runs `work` in a span whose parent is `parent`; the span records a thrown error and ends with `work`. */
export function inSpan<T>(
  name: string,
  parent: Context,
  attributes: Record<string, string | number>,
  kind: SpanKind,
  work: () => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, parent, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };

import { STATUS_CODES } from "node:http";

import type { RemoteGraphQLDataSource } from "@apollo/gateway";
import { Agent, type Dispatcher, request } from "undici";

/** The fetch signature RemoteGraphQLDataSource calls (from @apollo/utils.fetcher, not a direct dependency). */
export type Fetcher = RemoteGraphQLDataSource["fetcher"];
type FetcherResponse = Awaited<ReturnType<Fetcher>>;
type FetcherHeaders = FetcherResponse["headers"];

/** The subgraph did not answer within its timeout: the request was aborted. */
export class SubgraphTimeoutError extends Error {
  readonly code = "SUBGRAPH_TIMEOUT";
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = "SubgraphTimeoutError";
  }
}

/** The subgraph could not be reached (refused, reset, DNS...): `cause` holds the transport error. */
export class SubgraphUnreachableError extends Error {
  readonly code = "SUBGRAPH_UNREACHABLE";
  constructor(cause: unknown) {
    super(`unreachable: ${(cause as Error | undefined)?.message ?? String(cause)}`, { cause });
    this.name = "SubgraphUnreachableError";
  }
}

export interface SubgraphHttpClientOptions {
  /** How long an idle pooled connection is kept (below the subgraphs' own 65 s keep-alive). */
  keepAliveMs?: number;
  /** Largest TCP connect time (also bounded by each request's timeout). */
  connectTimeoutMs?: number;
}

/**
 * One keep-alive connection pool (undici) for every subgraph fetch: the gateway's default client
 * (make-fetch-happen over node-fetch) cost about a fifth of the router's CPU (STACK trap 22).
 */
export class SubgraphHttpClient {
  private readonly agent: Agent;

  constructor(options: SubgraphHttpClientOptions = {}) {
    this.agent = new Agent({
      keepAliveTimeout: options.keepAliveMs ?? 30_000,
      keepAliveMaxTimeout: 60_000,
      connect: { timeout: options.connectTimeoutMs ?? 5_000 },
      // Each request carries its own overall deadline (below); undici's per-phase timers stay off.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /**
   * A fetcher for RemoteGraphQLDataSource whose every call must complete (headers and body) within
   * `timeoutMs`, or it is aborted with SubgraphTimeoutError. The body is read whole before returning,
   * so the connection goes back to the pool whatever the caller does with the response.
   */
  fetcher(timeoutMs: number): Fetcher {
    const agent = this.agent;
    return async (url, init = {}) => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        const response = await request(url, {
          method: (init.method ?? "GET") as Dispatcher.HttpMethod,
          headers: init.headers,
          body: init.body,
          dispatcher: agent,
          signal: controller.signal,
        });
        const body = await response.body.text();
        return new SubgraphResponse(url, response.statusCode, response.headers, body);
      } catch (error) {
        if (controller.signal.aborted) throw new SubgraphTimeoutError(timeoutMs);
        throw new SubgraphUnreachableError(error);
      } finally {
        clearTimeout(timer);
      }
    };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

type RawHeaders = Record<string, string | string[] | undefined>;

/** The slice of the fetch Response that RemoteGraphQLDataSource reads, over a body already in memory. */
class SubgraphResponse implements FetcherResponse {
  readonly bodyUsed = false;
  readonly redirected = false;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: FetcherHeaders;

  constructor(
    readonly url: string,
    readonly status: number,
    raw: RawHeaders,
    private readonly body: string,
  ) {
    this.ok = status >= 200 && status < 300;
    this.statusText = STATUS_CODES[status] ?? "";
    this.headers = new ResponseHeaders(raw);
  }

  async text(): Promise<string> {
    return this.body;
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.body) as unknown;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = Buffer.from(this.body, "utf8");
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  clone(): FetcherResponse {
    return this; // immutable: the body is a string
  }
}

/** Read-mostly headers over undici's lower-cased header object (only `content-type` and `cache-control` are read). */
class ResponseHeaders implements FetcherHeaders {
  constructor(private readonly raw: RawHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(", ") : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }

  set(name: string, value: string): void {
    this.raw[name.toLowerCase()] = value;
  }

  append(name: string, value: string): void {
    const existing = this.get(name);
    this.set(name, existing === null ? value : `${existing}, ${value}`);
  }

  delete(name: string): void {
    delete this.raw[name.toLowerCase()];
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

import { createHash } from "node:crypto";

import type { ApolloServerPlugin, GraphQLRequest, PersistedQueryOptions } from "@apollo/server";

import { ErrorCode, publicError } from "../platform/errors";
import type { Logger } from "../platform/logger";
import type { KeyValueStore } from "../platform/store/key-value-store";
import type { RouterContext } from "./context";
import { OperationSafelist } from "./operation-safelist";

/**
 * Persisted operations at the router:
 *
 * - Automatic persisted queries (APQ, Apollo's protocol): a client sends
 *   `extensions.persistedQuery = { version: 1, sha256Hash }` without the query; an unknown hash is
 *   answered PERSISTED_QUERY_NOT_FOUND, the client resends hash + query, and the router keeps the
 *   query in the shared KeyValueStore (Redis; memory in embedded mode) for `ttlSeconds`, so every
 *   replica then answers the hash alone. A hash that is not the SHA-256 of the query is
 *   BAD_REQUEST; only a document that parsed, validated and passed every other check is kept.
 * - Safelist mode (`OPERATION_SAFELIST=true`): only the documents of the manifest codegen writes
 *   from schema/operations/*.graphql (schema/generated/persisted-documents.json, sha256 hex ->
 *   normalised document) run. By hash: the manifest's key as `extensions.persistedQuery.sha256Hash`
 *   (the hash codegen embeds in each generated document as `__meta__.hash`). By text: any printing
 *   of a manifest document (whitespace, comments, field/argument/definition order do not matter).
 *   An unknown hash is PERSISTED_QUERY_NOT_FOUND; a document that parses and validates but is not in
 *   the manifest is FORBIDDEN with `extensions.reason = "OPERATION_NOT_SAFELISTED"` (HTTP 403),
 *   refused before the query planner, so nothing of it reaches a subgraph.
 *
 * Apollo Server reads `extensions.persistedQuery` only after every plugin's `requestDidStart`, so
 * this plugin answers it first: it resolves a known hash into `request.query` and removes the
 * extension. Apollo's own APQ cache therefore never receives a registration; an unknown hash is left
 * on the request for Apollo to answer PERSISTED_QUERY_NOT_FOUND from that (always empty) cache.
 */

/** Keys of registered queries in the store (under the store's own prefix): `apq:<sha256 hex>`. */
export const APQ_KEY_PREFIX = "apq:";
export const DEFAULT_PERSISTED_QUERIES_TTL_SECONDS = 24 * 3600;
/** A store read or write slower than this counts as a miss (a client then sends the full query). */
const STORE_TIMEOUT_MS = 500;
export const NOT_SAFELISTED = "OPERATION_NOT_SAFELISTED";

const SHA256_HEX = /^[0-9a-f]{64}$/;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Apollo's cache interface (@apollo/utils.keyvaluecache), as `persistedQueries.cache` takes it. */
export type KeyValueCache = NonNullable<PersistedQueryOptions["cache"]>;

/**
 * A KeyValueCache over the shared KeyValueStore: prefixed keys, every entry expires. A cache never
 * fails its caller: while the store is unreachable (or slower than 500 ms) reads miss and writes are
 * dropped, logged once per outage.
 */
export class StoreKeyValueCache implements KeyValueCache {
  private failing = false;

  constructor(
    private readonly store: KeyValueStore,
    private readonly options: { prefix: string; ttlSeconds: number; logger: Logger; timeoutMs?: number },
  ) {}

  async get(key: string): Promise<string | undefined> {
    const value = await this.attempt(() => this.store.get(this.options.prefix + key));
    return value ?? undefined;
  }

  /** `ttl` (seconds) as Apollo passes it; none, 0 or null means the configured TTL: nothing is kept forever. */
  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    const ttlSeconds = Math.ceil(options?.ttl && options.ttl > 0 ? options.ttl : this.options.ttlSeconds);
    await this.attempt(() => this.store.set(this.options.prefix + key, value, { ttlSeconds }));
  }

  async delete(key: string): Promise<boolean> {
    return ((await this.attempt(() => this.store.delete(this.options.prefix + key))) ?? 0) > 0;
  }

  private async attempt<T>(operation: () => Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("the key-value store did not answer in time")),
        this.options.timeoutMs ?? STORE_TIMEOUT_MS,
      );
    });
    try {
      const result = await Promise.race([operation(), timeout]);
      if (this.failing) this.options.logger.info("persisted query store answers again");
      this.failing = false;
      return result;
    } catch (error) {
      if (!this.failing) this.options.logger.warn({ err: error }, "persisted query store unavailable");
      this.failing = true;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface PersistedOperationsOptions {
  store: KeyValueStore;
  logger: Logger;
  /** How long a registered query is kept (default one day). */
  ttlSeconds?: number;
  /** Only the manifest's operations run (default: any operation). */
  safelist?: boolean;
  /** The manifest (default schema/generated/persisted-documents.json). */
  manifestPath?: string;
}

/** The Apollo plugin behind both modes (see the top of this file). Throws at start-up if the manifest is unusable. */
export function persistedOperationsPlugin(
  options: PersistedOperationsOptions,
): ApolloServerPlugin<RouterContext> {
  const { logger } = options;
  const cache = new StoreKeyValueCache(options.store, {
    prefix: APQ_KEY_PREFIX,
    ttlSeconds: options.ttlSeconds ?? DEFAULT_PERSISTED_QUERIES_TTL_SECONDS,
    logger,
  });
  const safelist = options.safelist ? OperationSafelist.load(options.manifestPath) : null;
  if (safelist) logger.info({ operations: safelist.size }, "operation safelist on");

  return {
    async requestDidStart({ request }) {
      const resolved = await resolvePersistedQuery(
        request,
        async (hash) => safelist?.document(hash) ?? (await cache.get(hash)),
      );
      let registration: Promise<void> | undefined;
      return {
        async didResolveOperation({ document, operationName, contextValue }) {
          if (safelist && !safelist.allows(document)) {
            logger.info(
              { operation: operationName ?? "anonymous", correlationId: contextValue.correlationId },
              "operation refused: not in the safelist",
            );
            throw publicError(ErrorCode.FORBIDDEN, "This operation is not allowed on this server", {
              reason: NOT_SAFELISTED,
              http: { status: 403 },
            });
          }
        },
        // Reached only once every plugin's didResolveOperation passed: only such documents are kept.
        async responseForOperation() {
          if (resolved.register && safelist?.document(resolved.register.hash) === undefined)
            registration = cache.set(resolved.register.hash, resolved.register.query);
          return null;
        },
        async willSendResponse() {
          // Kept before the answer leaves: the client's next request may send the hash alone.
          await registration;
        },
        async didEncounterErrors({ errors }) {
          // Apollo refuses a wrong hash or an unknown protocol version with HTTP 400 but no code.
          if (!resolved.malformed) return;
          for (const error of errors)
            if (error.extensions.code === undefined) error.extensions.code = "BAD_REQUEST";
        },
      };
    },
  };
}

interface ResolvedPersistedQuery {
  /** A valid hash + query pair, to keep once the operation is admitted. */
  register?: { hash: string; query: string };
  /** The extension is malformed or the hash does not match the query: Apollo answers 400. */
  malformed?: boolean;
}

/** Answers `extensions.persistedQuery` (see the top of this file); mutates the request as Apollo would. */
async function resolvePersistedQuery(
  request: GraphQLRequest,
  lookup: (hash: string) => Promise<string | undefined>,
): Promise<ResolvedPersistedQuery> {
  const { persistedQuery, ...otherExtensions } = request.extensions ?? {};
  if (persistedQuery === undefined) return {};
  const { version, sha256Hash: hash } = (persistedQuery ?? {}) as { version?: unknown; sha256Hash?: unknown };
  // Left to Apollo, which answers 400 (unsupported version) or compares the hash with the query (400).
  if (version !== 1 || typeof hash !== "string") return { malformed: true };
  if (request.query === undefined) {
    const query = SHA256_HEX.test(hash) ? await lookup(hash) : undefined;
    // Unknown: Apollo answers PERSISTED_QUERY_NOT_FOUND and an APQ client resends with the query.
    if (query === undefined) return {};
    request.query = query;
    request.extensions = otherExtensions;
    return {};
  }
  if (typeof request.query !== "string" || sha256(request.query) !== hash) return { malformed: true };
  request.extensions = otherExtensions;
  return { register: { hash, query: request.query } };
}

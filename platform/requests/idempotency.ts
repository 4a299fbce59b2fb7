import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";

import { type ApolloServerPlugin, type GraphQLResponse, HeaderMap } from "@apollo/server";
import type { EventSubscriber, TransactionEventArgs } from "@mikro-orm/core";
import type { GraphQLFormattedError } from "graphql";

import type { Database } from "../database/database";
import { ErrorCode, OUTAGE_MESSAGE, OUTAGE_RETRY_AFTER_SECONDS } from "../errors";
import type { Identity } from "../identity/identity";
import type { Logger } from "../logger";
import { dependencyOutage } from "../outages";
import type { RequestScope } from "./request-scope";
import { currentRequest } from "./request-scope";

/** The header a client sends (the router forwards it to the subgraphs that run the mutation). */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** A retry within this long returns the first outcome; after it the key may be used afresh. */
export const IDEMPOTENCY_WINDOW_HOURS = 24;
/**
 * Visible ASCII, 8 to 255 characters: a UUID (what clients are told to send) fits, and so does
 * any reasonable scheme; a short key would make collisions between a caller's mutations likely.
 */
const KEY_PATTERN = /^[\x21-\x7e]{8,255}$/;
/**
 * A record still "started" this long after its claim belongs to an attempt that can no longer commit:
 * no subgraph deadline exceeds 60 s (Deadline.fromHeaders), and nothing commits past its deadline.
 */
const ABANDONED_AFTER = "70 seconds";
/** Expired records are swept at most this often, by whichever request claims next. */
const SWEEP_EVERY_MS = 10 * 60_000;
/** Tells the client its answer is the first outcome, returned again (as Stripe's Idempotent-Replayed). */
export const REPLAYED_HEADER = "idempotent-replayed";

export const isValidIdempotencyKey = (key: string) => KEY_PATTERN.test(key);

/** A keyed mutation being served: claimed (runs now) or replayed (answered from its record). */
export interface IdempotencyClaim {
  id: string;
  key: string;
  state: "claimed" | "committing" | "committed" | "replayed";
}

const recordId = (subgraph: string, identity: Identity, key: string) =>
  createHash("sha256")
    .update(`${subgraph}\0${identity.kind === "user" ? identity.userId : "anonymous"}\0${key}`)
    .digest("hex");

/** Under the key itself: the table alone does not let anyone test guesses of the input (a password). */
const requestHash = (key: string, query: string, variables: unknown) =>
  createHmac("sha256", key)
    .update(canonicalJson([query, variables ?? null]))
    .digest("hex");

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  return JSON.stringify(value) ?? "null";
}

/** AES-256-GCM under a key derived from the client's key and the record: only the client can replay it. */
function sealingKey(key: string, id: string): Buffer {
  return Buffer.from(hkdfSync("sha256", key, id, "orion idempotency record", 32));
}

export function seal(key: string, id: string, plaintext: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", sealingKey(key, id), iv);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function unseal(key: string, id: string, sealed: Buffer): string {
  const decipher = createDecipheriv("aes-256-gcm", sealingKey(key, id), sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString("utf8");
}

interface StoredAnswer {
  status: number;
  body: { data?: unknown; errors?: readonly GraphQLFormattedError[] };
}

const refusal = (status: number, code: string, message: string, extensions: Record<string, unknown> = {}) =>
  ({
    http: { status, headers: new HeaderMap() },
    body: { kind: "single", singleResult: { errors: [{ message, extensions: { code, ...extensions } }] } },
  }) as GraphQLResponse;

/**
 * The record commits in the same transaction as the mutation's effect (the first transaction that
 * commits while the claim is open), so a retry never runs an effect again, even when the answer was
 * lost with a crash between the commit and its sealing.
 */
export function idempotencyHooks(ownRequest: () => RequestScope | undefined): EventSubscriber {
  const claimOf = () => ownRequest()?.idempotency;
  return {
    async beforeTransactionCommit({ em, transaction }: TransactionEventArgs) {
      const claim = claimOf();
      if (claim?.state !== "claimed") return;
      claim.state = "committing";
      await em
        .getConnection()
        .execute(
          `update idempotency_records set state = 'committed' where id = ? and state = 'started'`,
          [claim.id],
          "run",
          transaction,
        );
    },
    async afterTransactionCommit() {
      const claim = claimOf();
      if (claim?.state === "committing") claim.state = "committed";
    },
    async afterTransactionRollback() {
      const claim = claimOf();
      if (claim?.state === "committing") claim.state = "claimed";
    },
  };
}

/**
 * Idempotency keys for every mutation of a subgraph (decision 006): the first request with a key
 * claims a record and runs; its answer is sealed into the record before it leaves. A retry with
 * the same key and input gets that answer again without running; with other input, BAD_USER_INPUT;
 * while the first is still running, CONFLICT with a retry hint. A first attempt that failed having
 * changed nothing leaves no record, so its retry runs afresh.
 */
export function idempotencyPlugin(options: {
  db: Database;
  subgraph: string;
  logger: Logger;
}): ApolloServerPlugin<{ identity: Identity }> {
  const { db, subgraph, logger } = options;
  const sql = <T>(query: string, params: unknown[]) => db.orm.em.getConnection().execute<T[]>(query, params);
  let sweptAt = Date.now();
  const sweep = () => {
    if (Date.now() - sweptAt < SWEEP_EVERY_MS) return;
    sweptAt = Date.now();
    sql(
      `delete from idempotency_records where id in
         (select id from idempotency_records where expires_at < now() limit 1000)`,
      [],
    ).catch((error: unknown) => logger.warn({ err: error }, "could not sweep expired idempotency records"));
  };

  /** Claims the record for this request, or answers from it (replay, other input, still running). */
  async function claimOrReplay(
    key: string,
    scope: RequestScope,
    query: string,
    variables: unknown,
    identity: Identity,
  ): Promise<GraphQLResponse | null> {
    if (!isValidIdempotencyKey(key))
      return refusal(400, ErrorCode.BAD_USER_INPUT, "Idempotency-Key: 8 to 255 visible ASCII characters", {
        field: "Idempotency-Key",
      });
    sweep();
    const id = recordId(subgraph, identity, key);
    const hash = requestHash(key, query, variables);
    const claimed = await sql<{ id: string }>(
      `insert into idempotency_records (id, request_hash, state, created_at, expires_at)
       values (?, ?, 'started', now(), now() + interval '${IDEMPOTENCY_WINDOW_HOURS} hours')
       on conflict (id) do update set request_hash = excluded.request_hash, state = 'started',
         response = null, created_at = now(), expires_at = excluded.expires_at
       where idempotency_records.expires_at < now()
         or (idempotency_records.state = 'started'
             and idempotency_records.created_at < now() - interval '${ABANDONED_AFTER}'
             and idempotency_records.request_hash = excluded.request_hash)
       returning id`,
      [id, hash],
    );
    if (claimed.length > 0) {
      scope.idempotency = { id, key, state: "claimed" };
      return null;
    }
    const [record] = await sql<{ request_hash: string; state: string; response: Buffer | null }>(
      `select request_hash, state, response from idempotency_records where id = ?`,
      [id],
    );
    if (!record) return null; // swept between the two statements: nothing to replay
    if (record.request_hash !== hash)
      return refusal(
        422,
        ErrorCode.BAD_USER_INPUT,
        "This Idempotency-Key was already used with other input; use a new key for a new request",
        { field: "Idempotency-Key" },
      );
    if (record.state !== "completed" || !record.response)
      return refusal(
        409,
        ErrorCode.CONFLICT,
        record.state === "started"
          ? "A request with this Idempotency-Key is still being processed; retry shortly"
          : "A request with this Idempotency-Key took effect, but its answer was lost; check the outcome before retrying with a new key",
        record.state === "started" ? { retryAfter: 1 } : {},
      );
    scope.idempotency = { id, key, state: "replayed" };
    const stored = JSON.parse(unseal(key, id, record.response)) as StoredAnswer;
    const headers = new HeaderMap([[REPLAYED_HEADER, "true"]]);
    return {
      http: { status: stored.status, headers },
      body: { kind: "single", singleResult: stored.body },
    } as GraphQLResponse;
  }

  return {
    async requestDidStart() {
      return {
        async responseForOperation({ operation, request, contextValue }) {
          const key = request.http?.headers.get(IDEMPOTENCY_KEY_HEADER);
          const scope = currentRequest();
          if (operation?.operation !== "mutation" || !key || !scope) return null;
          try {
            return await claimOrReplay(
              key,
              scope,
              request.query ?? "",
              request.variables,
              contextValue.identity,
            );
          } catch (error) {
            // The record cannot be checked (the database is out): nothing runs, the client retries.
            if (!dependencyOutage(error)) throw error;
            logger.warn({ err: error }, "idempotency record unavailable: keyed mutation refused");
            return refusal(503, ErrorCode.SERVICE_UNAVAILABLE, OUTAGE_MESSAGE, {
              retryAfter: OUTAGE_RETRY_AFTER_SECONDS,
            });
          }
        },

        async willSendResponse({ response }) {
          const claim = currentRequest()?.idempotency;
          if (!claim || claim.state === "replayed" || response.body.kind !== "single") return;
          const { singleResult } = response.body;
          const failed = (singleResult.errors?.length ?? 0) > 0;
          try {
            if (claim.state === "claimed" && failed) {
              // Nothing committed and the client is told it failed: its retry must run afresh.
              await sql(`delete from idempotency_records where id = ? and state = 'started'`, [claim.id]);
              return;
            }
            const answer: StoredAnswer = {
              status: response.http.status ?? 200,
              body: { data: singleResult.data, errors: singleResult.errors },
            };
            await sql(
              `update idempotency_records set state = 'completed', response = ? where id = ? and state <> 'completed'`,
              [seal(claim.key, claim.id, JSON.stringify(answer)), claim.id],
            );
          } catch (error) {
            logger.warn({ err: error }, "could not record a keyed mutation's answer; a retry gets CONFLICT");
          }
        },
      };
    },
  };
}

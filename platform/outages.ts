import { ConnectionException, DriverException } from "@mikro-orm/core";

/** What a subgraph depends on at request time. */
export type Dependency = "database" | "store" | "broker";

/**
 * A dependency is out, or did not answer within its budget: the operation that met it stopped
 * there. Clients see SERVICE_UNAVAILABLE (decision 006), never INTERNAL_SERVER_ERROR.
 */
export class DependencyUnavailableError extends Error {
  /**
   * True when the command was sent and only its answer is missing (a timeout): the dependency may
   * still carry it out. False when it never left (no connection).
   */
  readonly mayHaveTakenEffect: boolean;

  constructor(
    readonly dependency: Dependency,
    message: string,
    options?: { cause?: unknown; mayHaveTakenEffect?: boolean },
  ) {
    super(message, options);
    this.mayHaveTakenEffect = options?.mayHaveTakenEffect ?? false;
    this.name = "DependencyUnavailableError";
  }
}

/**
 * PostgreSQL SQLSTATEs that mean "the server cannot serve this now", not "this statement is wrong":
 * connection exceptions (class 08), insufficient resources (class 53, too many connections),
 * operator intervention (57: shutdown, statement_timeout cancelling the query), and lock_timeout.
 */
const DATABASE_OUTAGE_STATES = [/^08/, /^53/, /^57/, /^55P03$/];

const DATABASE_OUTAGE_MESSAGES =
  /Connection terminated|Timeout acquiring a connection|\btimeout expired\b|connection error|Connection refused/i;

/** Transport failures of any client (pg, node-redis, amqplib): the peer is gone or unreachable. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * Which dependency an error says is unavailable, or null when it is something else (a bug, a
 * constraint the code should have handled). Follows `cause` chains: drivers wrap transport errors.
 */
export function dependencyOutage(error: unknown): Dependency | null {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof DependencyUnavailableError) return current.dependency;
    if (current instanceof ConnectionException) return "database";
    const { code, name, message } = current as { code?: unknown; name?: unknown; message?: unknown };
    if (current instanceof DriverException || isPgError(current)) {
      const state = String(code ?? (current as { sqlState?: unknown }).sqlState ?? "");
      if (DATABASE_OUTAGE_STATES.some((pattern) => pattern.test(state))) return "database";
    }
    // The pool (knex/tarn) found no free connection within its acquire timeout.
    if (name === "KnexTimeoutError") return "database";
    // What pg and the pool say when the server is gone or slow to accept (MikroORM's DriverException
    // keeps the message but not always the original error).
    if (typeof message === "string" && DATABASE_OUTAGE_MESSAGES.test(message)) return "database";
    if (typeof code === "string" && NETWORK_CODES.has(code)) return "database";
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

function isPgError(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { severity?: unknown }).severity === "string"
  );
}

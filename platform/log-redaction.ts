/**
 * What an error may say in a log line. Errors carry secrets where nobody looks: MikroORM inlines a
 * statement's parameters into the SQL it sends, and knex puts that SQL in front of the driver's
 * message (`insert into ... values ('a@b.c', ...) - <pg message>`); PostgreSQL adds `detail`
 * ("Key (email)=(a@b.c) already exists") and `where`; mail and HTTP errors carry envelopes, bodies
 * and headers. An error is therefore logged as its type, a cleaned message and stack, and only the
 * fields known to hold no caller data (see ../docs/decisions/005-no-secrets-in-logs.md).
 */

/**
 * Field names whose value never reaches a log line, at any of the first levels of a line (compared
 * lowercased). Requests, headers and payloads get logged by accident; these are what they carry.
 */
const SECRET_FIELDS = new Set([
  "password",
  "currentpassword",
  "newpassword",
  "passwordhash",
  "token",
  "refreshtoken",
  "accesstoken",
  "secret",
  "secrethash",
  "apikey",
  "email",
  "authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "orion-identity",
]);
const MAX_FIELD_DEPTH = 4;
export const REDACTED = "[redacted]";

function isPlainContainer(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The log line's fields with SECRET_FIELDS censored, copying only what changes (a line without
 * secrets is returned as is). Walks plain objects and arrays only: errors have their own
 * serializer, and a Buffer or a class instance is no place for a walk. pino's own `redact` with
 * wildcards at three levels cost about 30 µs a line here (6x the whole line); this costs ~1 µs.
 */
export function withoutSecretFields<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== "object" || depth >= MAX_FIELD_DEPTH || !isPlainContainer(value))
    return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const cleaned = withoutSecretFields(item, depth + 1);
      if (cleaned !== item) (copy ??= [...value])[index] = cleaned;
    });
    return (copy ?? value) as T;
  }
  let copy: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const field = record[key];
    const cleaned = SECRET_FIELDS.has(key.toLowerCase()) ? REDACTED : withoutSecretFields(field, depth + 1);
    if (cleaned !== field) (copy ??= { ...record })[key] = cleaned;
  }
  return (copy ?? value) as T;
}

/** String fields of an error that name things of ours (codes, tables, sockets), never a caller's data. */
const SAFE_STRING_FIELDS = new Set([
  "code",
  "sqlState",
  "severity",
  "routine",
  "schema",
  "table",
  "column",
  "constraint",
  "dataType",
  "syscall",
  "address",
  "errno",
]);

const MAX_CAUSE_DEPTH = 3;

/** An SQL string literal as pg's escapeLiteral writes it: '…' with '' inside, or E'…' with \\ escapes. */
const SQL_STRING_LITERAL = /\bE'(?:[^'\\]|''|\\[\s\S])*'|'(?:[^']|'')*'/g;
/** A message that begins with a statement: knex's "<sql with values> - <driver message>". */
const STARTS_WITH_SQL =
  /^\s*(?:select|insert|update|delete|with|merge|copy|lock|begin|commit|rollback|savepoint|release|set|listen|notify|create|alter|drop|truncate|call|do)\b/i;
/** PostgreSQL quotes the refused value itself: `invalid input syntax for type uuid: "…"`. */
const PG_QUOTED_INPUT = /(invalid input (?:syntax|value) for [^:\n]*): "(?:[^"]|"")*"/g;
const EMAIL = /[^\s@'"<>()[\]{},;:/\\]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
const JWT = /\beyJ[\w-]+\.[\w-]+\.[\w-]*/g;
const API_KEY = /\bork_[\w-]+/g;

/**
 * The text without the values it may hold: SQL literals (for statements), the value PostgreSQL
 * quotes back, e-mail addresses, JWTs and API keys. Identifiers, codes and the statement's shape stay.
 */
export function redactText(text: string): string {
  let out = STARTS_WITH_SQL.test(text) ? text.replace(SQL_STRING_LITERAL, "?") : text;
  out = out.replace(PG_QUOTED_INPUT, "$1: ?");
  return out.replace(EMAIL, "[email]").replace(JWT, "[jwt]").replace(API_KEY, "ork_[redacted]");
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  cause?: unknown;
  errors?: unknown;
  [key: string]: unknown;
}

function isErrorLike(value: unknown): value is ErrorLike {
  return (
    value instanceof Error ||
    (typeof value === "object" && value !== null && typeof (value as ErrorLike).message === "string")
  );
}

/** The stack's frames under a cleaned header: the header repeats the message, secrets included. */
function cleanStack(type: string, message: string, stack: unknown): string | undefined {
  if (typeof stack !== "string") return undefined;
  const frames = stack.split("\n").filter((line) => /^\s+at /.test(line));
  return [`${type}: ${message}`, ...frames].join("\n");
}

/**
 * pino's `err` serializer, made safe: type, cleaned message and stack, numbers and booleans, the
 * string fields of SAFE_STRING_FIELDS, causes and aggregated errors the same way. Everything else
 * (pg's detail/where, knex's bindings, a mail envelope, a response body) is left out.
 */
export function serializeError(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (!isErrorLike(value)) return value;
  const type =
    typeof value.constructor === "function" && value.constructor !== Object
      ? value.constructor.name
      : String(value.name ?? "Error");
  const message = redactText(String(value.message));
  const out: Record<string, unknown> = { type, message };
  const stack = cleanStack(type, message, value.stack);
  if (stack) out.stack = stack;
  for (const key of Object.keys(value)) {
    const field = value[key];
    if (typeof field === "number" || typeof field === "boolean") out[key] = field;
    else if (typeof field === "string" && SAFE_STRING_FIELDS.has(key)) out[key] = redactText(field);
  }
  const code = (value.extensions as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") out.code = code;
  if (depth < MAX_CAUSE_DEPTH) {
    if (isErrorLike(value.cause)) out.cause = serializeError(value.cause, depth + 1);
    const original = value.originalError;
    if (isErrorLike(original)) out.originalError = serializeError(original, depth + 1);
    if (Array.isArray(value.errors))
      out.aggregateErrors = value.errors.map((error) => serializeError(error, depth + 1));
  }
  return out;
}

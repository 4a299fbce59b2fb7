import { Writable } from "node:stream";

import { DriverException, UniqueConstraintViolationException } from "@mikro-orm/core";

import { createLogger } from "../../platform/logger";

// What the JSON log keeps of an error and of a line's fields: the statement's shape, codes and
// stack stay; every value a caller sent (e-mail, token, password, key) is gone. The e2e test
// no-secrets-in-logs provokes these errors for real; these pin the shapes the driver produces.

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger("test", "trace", stream), lines, raw: () => raw.join("\n") };
}

const EMAIL = "Jane.Doe+x@Example.com";
const TOKEN = "yg0kvUFMaaU4iWMWRJvf97zIhu1LW25NDEjzLaRBypo";

/** A pg error as knex hands it to MikroORM: the statement with its values in front of the message. */
function driverError(sql: string, pgMessage: string, fields: Record<string, unknown>) {
  return Object.assign(new Error(`${sql} - ${pgMessage}`), fields);
}

describe("error lines", () => {
  it("keep the statement's shape and PostgreSQL's reason, without the values, detail or where", () => {
    const { logger, lines, raw } = capture();
    const pg = driverError(
      `insert into "outbox_events" ("payload", "email") values ('{"email":"${EMAIL}","token":"${TOKEN}"}', E'it''s \\\\ ${EMAIL}') returning "position"`,
      'duplicate key value violates unique constraint "users_email_unique"',
      {
        code: "23505",
        severity: "ERROR",
        constraint: "users_email_unique",
        table: "users",
        detail: `Key (email)=(${EMAIL}) already exists.`,
        where: `SQL statement with ${TOKEN}`,
        length: 200,
      },
    );
    logger.error({ err: new UniqueConstraintViolationException(pg) }, "internal error");
    expect(raw()).not.toContain(EMAIL);
    expect(raw()).not.toContain(EMAIL.toLowerCase());
    expect(raw()).not.toContain(TOKEN);
    expect(lines[0]!.err).toMatchObject({
      type: "UniqueConstraintViolationException",
      message:
        'insert into "outbox_events" ("payload", "email") values (?, ?) returning "position" - duplicate key value violates unique constraint "users_email_unique"',
      code: "23505",
      constraint: "users_email_unique",
      table: "users",
      length: 200,
      stack: expect.stringMatching(
        /^UniqueConstraintViolationException: insert into .* values \(\?, \?\)[^]*\n\s+at /,
      ),
    });
    expect(lines[0]!.err).not.toHaveProperty("detail");
    expect(lines[0]!.err).not.toHaveProperty("where");
  });

  it("drop the value PostgreSQL quotes back, and addresses, JWTs and API keys in any message", () => {
    const { logger, raw, lines } = capture();
    const jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    logger.error(
      {
        err: new DriverException(
          new Error(`select 1 - invalid input syntax for type uuid: "${TOKEN}"`) as Error & { code: string },
        ),
      },
      "failed",
    );
    logger.warn({ err: new Error(`Recipient command failed: 550 <${EMAIL}> unknown`) }, "delivery not sent");
    logger.warn({ reason: `rejected ${jwt} and ork_${TOKEN}` }, "rejected");
    logger.error({ error: `plain text naming ${EMAIL}` }, "internal error");
    for (const secret of [TOKEN, EMAIL, jwt]) expect(raw()).not.toContain(secret);
    expect((lines[0]!.err as { message: string }).message).toBe(
      "select 1 - invalid input syntax for type uuid: ?",
    );
    expect((lines[1]!.err as { message: string }).message).toBe(
      "Recipient command failed: 550 <[email]> unknown",
    );
    expect(lines[2]!.reason).toBe("rejected [jwt] and ork_[redacted]");
  });

  it("leave out every field an error carries but the known-safe ones, causes included", () => {
    const { logger, raw, lines } = capture();
    const cause = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", body: TOKEN });
    const error = Object.assign(new Error("request failed", { cause }), {
      envelope: { to: [EMAIL] },
      response: `250 ok ${TOKEN}`,
      statusCode: 502,
      retryable: true,
    });
    logger.warn({ err: error }, "webhook failed");
    expect(raw()).not.toContain(TOKEN);
    expect(raw()).not.toContain(EMAIL);
    expect(lines[0]!.err).toEqual({
      type: "Error",
      message: "request failed",
      stack: expect.any(String),
      statusCode: 502,
      retryable: true,
      cause: { type: "Error", message: "read ECONNRESET", stack: expect.any(String), code: "ECONNRESET" },
    });
  });
});

describe("fields", () => {
  it("censor secret-named fields at the first levels of a line, leaving the rest as they are", () => {
    const { logger, raw, lines } = capture();
    const line = {
      userId: "u1",
      input: { email: EMAIL, password: "hunter2 but longer", newPassword: "n" },
      headers: { Authorization: `Bearer ${TOKEN}`, "x-api-key": `ork_${TOKEN}`, cookie: "s=1" },
      list: [{ refreshToken: TOKEN }],
    };
    logger.info(line, "request");
    expect(raw()).not.toContain(TOKEN);
    expect(raw()).not.toContain(EMAIL);
    expect(lines[0]).toMatchObject({
      userId: "u1",
      input: { email: "[redacted]", password: "[redacted]", newPassword: "[redacted]" },
      headers: { Authorization: "[redacted]", "x-api-key": "[redacted]", cookie: "[redacted]" },
      list: [{ refreshToken: "[redacted]" }],
    });
    // The caller's object is not modified.
    expect(line.input.email).toBe(EMAIL);
  });
});

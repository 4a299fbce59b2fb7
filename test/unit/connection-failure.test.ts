import { ConnectionException, UniqueConstraintViolationException } from "@mikro-orm/core";

import { isConnectionFailure } from "../../platform/events/consumer";

// Which failures make a consumer wait for its database rather than count an attempt.
describe("isConnectionFailure", () => {
  it.each([
    ["pg: connection dropped", new Error("Connection terminated unexpectedly")],
    ["knex: connection ended", new Error("Connection Error: Connection ended unexpectedly")],
    ["knex: pool timeout", new Error("Knex: Timeout acquiring a connection. The pool is probably full.")],
    [
      "socket refused",
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    ],
    [
      "server shutting down",
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
    ],
    ["connection exception class", Object.assign(new Error("connection failure"), { code: "08006" })],
    [
      "knex: transaction on a dead connection",
      new Error("Transaction query already complete, run with DEBUG=knex:tx for more info"),
    ],
    ["server full", Object.assign(new Error("sorry, too many clients already"), { code: "53300" })],
    ["wrapped by MikroORM", new ConnectionException(new Error("Connection terminated unexpectedly"))],
    ["a cause underneath", Object.assign(new Error("query failed"), { cause: new Error("read ECONNRESET") })],
  ])("%s: waits", (_name, error) => expect(isConnectionFailure(error)).toBe(true));

  it.each([
    ["a bug", new TypeError("cannot read properties of undefined")],
    [
      "a constraint",
      new UniqueConstraintViolationException(Object.assign(new Error("duplicate key"), { code: "23505" })),
    ],
    ["a syntax error", Object.assign(new Error("syntax error at or near"), { code: "42601" })],
    ["not an error", "Connection terminated"],
  ])("%s: counts as an attempt", (_name, error) => expect(isConnectionFailure(error)).toBe(false));
});

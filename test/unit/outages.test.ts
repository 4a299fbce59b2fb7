import { ConnectionException, DriverException, UniqueConstraintViolationException } from "@mikro-orm/core";

import { dependencyOutage, DependencyUnavailableError } from "../../platform/outages";

// Which failures are a dependency's outage (SERVICE_UNAVAILABLE, retry) and which are ours
// (INTERNAL_SERVER_ERROR): the shapes the drivers were seen to throw under the chaos soak.

const pgError = (code: string, message = "server said no") =>
  Object.assign(new Error(message), { code, severity: "ERROR" });
const driver = (message: string, extra: object = {}) =>
  Object.assign(new DriverException(Object.assign(new Error(message), extra)), extra);

describe("dependencyOutage", () => {
  it.each([
    ["a lost connection", new ConnectionException(new Error("Connection terminated unexpectedly"))],
    [
      "a statement cancelled by statement_timeout",
      pgError("57014", "canceling statement due to statement timeout"),
    ],
    ["a server shutting down", pgError("57P01")],
    ["too many connections", pgError("53300")],
    ["an exhausted pool", driver("Knex: Timeout acquiring a connection. The pool is probably full.")],
    ["a connect timeout", driver("timeout expired")],
    [
      "a refused connection",
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    ],
    ["an outage wrapped by a driver", new Error("query failed", { cause: pgError("08006") })],
  ])("calls %s a database outage", (_what, error) => {
    expect(dependencyOutage(error)).toBe("database");
  });

  it("names the dependency an adapter reported", () => {
    expect(dependencyOutage(new DependencyUnavailableError("store", "Redis did not answer in time"))).toBe(
      "store",
    );
  });

  it.each([
    ["a unique violation", new UniqueConstraintViolationException(pgError("23505"))],
    ["a syntax error of ours", pgError("42601")],
    ["a plain bug", new TypeError("cannot read properties of undefined")],
    ["nothing", undefined],
  ])("does not excuse %s as an outage", (_what, error) => {
    expect(dependencyOutage(error)).toBeNull();
  });
});

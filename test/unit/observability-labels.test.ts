import { outcomeOf } from "../../platform/http/request-log.plugin";
import { OperationLabels, repositoryOperationNames } from "../../platform/metrics";
import { withoutLiterals } from "../../platform/tracing";

// What may become a metric label or a span attribute: bounded, and never a value a user sent.

describe("operation labels", () => {
  it("keep the repository's operation names, strip the gateway's suffix, and bound the rest", () => {
    const known = repositoryOperationNames();
    expect(known).toEqual(expect.arrayContaining(["Me", "Register", "TrackEvent"]));
    const labels = new OperationLabels(known, 2);
    expect(labels.label("Me")).toBe("Me");
    expect(labels.label("Me__notification__3")).toBe("Me");
    expect(labels.label(undefined)).toBe("anonymous");
    expect(labels.label("First")).toBe("First");
    expect(labels.label("Second")).toBe("Second");
    expect(labels.label("Third")).toBe("other");
    expect(labels.label("First")).toBe("First");
    expect(labels.label("x".repeat(65))).toBe("other");
  });

  it("count a request as rejected when every error is the caller's doing, and as an error otherwise", () => {
    const error = (code: string) => ({ extensions: { code } });
    expect(outcomeOf([])).toBe("ok");
    expect(outcomeOf([error("UNAUTHENTICATED"), error("RATE_LIMITED")])).toBe("rejected");
    expect(outcomeOf([error("BAD_USER_INPUT"), error("INTERNAL_SERVER_ERROR")])).toBe("error");
    expect(outcomeOf([{}])).toBe("error");
  });
});

describe("SQL in spans", () => {
  it("keeps the statement's shape and drops every literal", () => {
    const sql = `insert into "users" ("email", "password_hash", "age") values ('ada@example.com', '$2b$12$abc''d', 36.5) returning "id"`;
    expect(withoutLiterals(sql)).toBe(
      `insert into "users" ("email", "password_hash", "age") values (?, ?, ?) returning "id"`,
    );
    expect(withoutLiterals(`select "u0".* from "users" as "u0" limit 10`)).toBe(
      `select "u0".* from "users" as "u0" limit ?`,
    );
  });
});

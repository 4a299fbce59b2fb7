import type { Level } from "../../scripts/schema/check/report";
import { byId, type Edit, findingsOf, setup, WITH_SEARCH } from "../support/schema-check";

/*
 * The proposed changes of issue 15's Tests section, each made to this repository's own subgraph
 * SDL (test/support/schema-check.ts), with its expected classification and exit code. A test
 * fails when the classification of its change changes.
 */

describe("orion schema check classifies each proposed change", () => {
  const cases: [string, Edit[], Edit[], string, Level, 0 | 1][] = [
    [
      "a new optional field",
      [],
      [["user", "  bio: String\n", "  bio: String\n  pronouns: String\n"]],
      "FIELD_ADDED:Profile.pronouns",
      "safe",
      0,
    ],
    [
      "a field removed that operations select",
      [],
      [["user", /\n {2}"""A short text[^"]*"""\n {2}bio: String\n/, "\n"]],
      "FIELD_REMOVED:Profile.bio",
      "breaking",
      1,
    ],
    [
      "an output field made nullable",
      [],
      [["user", "  displayName: String!", "  displayName: String"]],
      "FIELD_TYPE_CHANGED:Profile.displayName",
      "breaking",
      1,
    ],
    [
      "an output field made non-null",
      [],
      [["user", "  bio: String\n", "  bio: String!\n"]],
      "FIELD_TYPE_CHANGED:Profile.bio",
      "safe",
      0,
    ],
    [
      "a required argument added",
      [],
      [["user", "user(id: ID!)", "user(id: ID!, reason: String!)"]],
      "FIELD_ARGUMENT_ADDED:Query.user(reason:)",
      "breaking",
      1,
    ],
    [
      "an argument's default changed",
      [],
      [["user", "first: Int = 20", "first: Int = 50"]],
      "FIELD_ARGUMENT_DEFAULT_CHANGED:Query.users(first:)",
      "dangerous",
      0,
    ],
    [
      "an enum value added",
      [],
      [["user", "  DARK\n", "  DARK\n  HIGH_CONTRAST\n"]],
      "ENUM_VALUE_ADDED:Theme.HIGH_CONTRAST",
      "dangerous",
      0,
    ],
    [
      "an enum value removed that a selected field returns",
      [],
      [["user", "  DARK\n", ""]],
      "ENUM_VALUE_REMOVED:Theme.DARK",
      "breaking",
      1,
    ],
    [
      "a union member no operation uses removed",
      WITH_SEARCH,
      [["user", "User | Profile", "User"]],
      "UNION_MEMBER_REMOVED:SearchResult|Profile",
      "dangerous",
      0,
    ],
    [
      "a directive argument changed",
      [],
      [
        ["analytics", 'ECMA-404.pdf")', 'ECMA-404-2nd.pdf")'],
        ["auth", 'ECMA-404.pdf")', 'ECMA-404-2nd.pdf")'],
      ],
      "DIRECTIVE_USAGE_ARGUMENT_CHANGED:JSONObject @specifiedBy(url:)",
      "dangerous",
      0,
    ],
    [
      "an input field's default changed",
      [],
      [["notification", "marketing: Boolean = false", "marketing: Boolean = true"]],
      "INPUT_FIELD_DEFAULT_VALUE_CHANGED:SendNotificationInput.marketing",
      "dangerous",
      0,
    ],
    [
      "an input field removed that operations may send in variables",
      [],
      [["user", /\n {2}"""Up to 1000 characters[^"]*"""\n {2}bio: String\n/, "\n"]],
      "INPUT_FIELD_REMOVED:UpdateProfileInput.bio",
      "breaking",
      1,
    ],
  ];
  it.each(cases)("%s", async (_name, baseEdits, edits, id, level, exitCode) => {
    const { check } = setup();
    const report = await check(edits, { baseEdits });
    expect(byId(report, id)).toMatchObject({ level, step: "diff" });
    expect(report.exitCode).toBe(exitCode);
  });
});

describe("a change that does not compose fails the composition step, where it was made", () => {
  it("an @key on a field the subgraph does not have", async () => {
    const { check } = setup();
    const report = await check([["user", '@key(fields: "id")', '@key(fields: "email")']]);
    const [error] = findingsOf(report, "composition");
    expect(error).toMatchObject({
      level: "error",
      kind: "KEY_INVALID_FIELDS",
      subgraph: "user",
      location: { file: "schema/user.graphql", line: 19 },
    });
    expect(report.steps.map((step) => [step.step, step.status])).toEqual([
      ["composition", "failed"],
      ["diff", "skipped"],
      ["operations", "skipped"],
      ["lint", "skipped"],
      ["events", "skipped"],
    ]);
    expect(report.exitCode).toBe(1);
  });

  it("a field two subgraphs resolve without @shareable", async () => {
    const { check } = setup();
    const report = await check([
      ["user", "\n  id: ID!\n", '\n  id: ID!\n\n  """The address"""\n  email: String!\n'],
    ]);
    expect(findingsOf(report, "composition")).toContainEqual(
      expect.objectContaining({
        level: "error",
        kind: "INVALID_FIELD_SHARING",
        coordinate: "User.email",
        subgraph: "user",
      }),
    );
    expect(report.exitCode).toBe(1);
  });
});

describe("composition hints are reported where they were written", () => {
  it("a description that differs between subgraphs: a warning at the subgraph's line", async () => {
    const { check } = setup();
    const report = await check([["user", "A date-time string at UTC", "A date and time at UTC"]]);
    expect(findingsOf(report, "composition")).toEqual([
      expect.objectContaining({
        level: "warning",
        kind: "INCONSISTENT_DESCRIPTION",
        coordinate: "DateTime",
        subgraph: "user",
        location: expect.objectContaining({ file: "schema/user.graphql" }),
      }),
    ]);
    expect(report.exitCode).toBe(0);
  });
});

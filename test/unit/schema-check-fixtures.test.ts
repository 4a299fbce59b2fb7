import { checkSchemas, type CheckInput } from "../../scripts/schema/check";
import { loadKnownOperations, type KnownOperations } from "../../scripts/schema/check/known-operations";
import type { CheckReport, Finding, Level, StepName } from "../../scripts/schema/check/report";
import { workingTreeSubgraphs, type SubgraphSdl } from "../../scripts/schema/check/sources";
import { PROJECT_ROOT } from "../../platform/paths";
import { operationDocuments } from "../../router/operation-measures";
import type { UsageFile } from "../../router/usage/usage-file";

/*
 * The proposed changes of issue 15's Tests section, each made to this repository's own subgraph
 * SDL with a string edit and checked by the engine against the repository's known operations
 * (schema/operations and the release manifests), with its expected classification and exit code.
 * A test fails when the classification of its change changes.
 */

type Edit = [subgraph: string, from: string | RegExp, to: string];

function setup() {
  const working = workingTreeSubgraphs(PROJECT_ROOT);
  const known = loadKnownOperations(PROJECT_ROOT);
  /** The working tree's subgraphs with the edits made; an edit that matches nothing fails the test. */
  const edited = (edits: Edit[], subgraphs: SubgraphSdl[] = working): SubgraphSdl[] =>
    subgraphs.map((subgraph) => {
      let sdl = subgraph.sdl;
      for (const [name, from, to] of edits) {
        if (name !== subgraph.name) continue;
        const next = sdl.replace(from, to);
        if (next === sdl) throw new Error(`fixture edit ${String(from)} matches nothing in ${name}`);
        sdl = next;
      }
      return { ...subgraph, sdl };
    });
  const check = (
    edits: Edit[],
    options: { baseEdits?: Edit[]; operations?: KnownOperations } & Partial<CheckInput> = {},
  ): Promise<CheckReport> => {
    const base = edited(options.baseEdits ?? []);
    return checkSchemas({
      base: { label: "base", subgraphs: base },
      head: { label: "proposed", subgraphs: edited(edits, base) },
      operations: options.operations ?? known,
      events: false,
      ...options,
    });
  };
  return { check, known };
}

const findingsOf = (report: CheckReport, step?: StepName): Finding[] =>
  report.steps.filter((s) => !step || s.step === step).flatMap((s) => s.findings);
const byId = (report: CheckReport, id: string) => findingsOf(report).find((finding) => finding.id === id);
const usedByNames = (finding: Finding | undefined) =>
  finding?.usedBy?.operations.map((operation) => `${operation.name} (${operation.source})`);

/** A union for the union fixtures: the repository has none. */
const WITH_SEARCH: Edit[] = [
  [
    "user",
    "type Query {",
    "union SearchResult = User | Profile\n\ntype Query {\n  search(term: String!): [SearchResult!]!\n",
  ],
];

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
      [["user", "  bio: String\n", ""]],
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
      [
        [
          "user",
          "UpdateProfileInput {\n  displayName: String\n  bio: String\n",
          "UpdateProfileInput {\n  displayName: String\n",
        ],
      ],
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
      location: { file: "schema/user.graphql", line: 16 },
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
    const report = await check([["user", "{\n  id: ID!\n", "{\n  id: ID!\n  email: String!\n"]]);
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

describe("a breaking change is breaking only when a known operation or client touches it", () => {
  const REMOVE_BIO: Edit[] = [["user", "  bio: String\n", ""]];
  const only = (known: KnownOperations, source: RegExp): KnownOperations => ({
    ...known,
    operations: known.operations.filter((operation) =>
      operation.uses.every((use) => source.test(use.source)),
    ),
  });
  const nothing: KnownOperations = { operations: [], files: [], releases: [] };

  it("used by a persisted operation of a release: breaking, naming the operation", async () => {
    const { check, known } = setup();
    const report = await check(REMOVE_BIO, { operations: only(known, /^release /) });
    const removal = byId(report, "FIELD_REMOVED:Profile.bio");
    expect(removal?.level).toBe("breaking");
    expect(usedByNames(removal)).toEqual([
      "Me (release 0.1.0)",
      "UserProfile (release 0.1.0)",
      "UpdateProfile (release 0.1.0)",
    ]);
    expect(findingsOf(report, "operations").filter((f) => f.kind === "OPERATION_BROKEN")).toHaveLength(3);
    expect(report.exitCode).toBe(1);
  });

  it("the same change used by nothing: dangerous, and the check passes", async () => {
    const { check } = setup();
    const report = await check(REMOVE_BIO, { operations: nothing });
    expect(byId(report, "FIELD_REMOVED:Profile.bio")).toMatchObject({
      level: "dangerous",
      usedBy: { operations: [], clients: [] },
    });
    expect(report.exitCode).toBe(0);
  });

  it("used by a client in the recorded usage: breaking, naming the client", async () => {
    const { check } = setup();
    const usage: UsageFile = {
      format: "orion-usage/1",
      from: "2026-11-01",
      to: "2026-11-30",
      clients: [
        {
          name: "web",
          version: "1.2.0",
          coordinates: { "Profile.bio": { count: 40, lastSeen: "2026-11-29" } },
        },
        {
          name: "ios",
          version: "3.0.0",
          coordinates: { "Profile.displayName": { count: 9, lastSeen: "2026-11-30" } },
        },
      ],
    };
    const report = await check(REMOVE_BIO, { operations: nothing, usage });
    expect(byId(report, "FIELD_REMOVED:Profile.bio")).toMatchObject({
      level: "breaking",
      usedBy: {
        operations: [],
        clients: [{ name: "web", version: "1.2.0", count: 40, lastSeen: "2026-11-29" }],
      },
    });
  });

  it("a union member an operation's type condition names: breaking", async () => {
    const { check, known } = setup();
    const [search] = operationDocuments('query Search { search(term: "a") { ... on Profile { bio } } }');
    const operations = {
      ...known,
      operations: [{ ...search!, uses: [{ name: "Search", source: "test" }], location: { file: "test" } }],
    };
    const report = await check([["user", "User | Profile", "User"]], { baseEdits: WITH_SEARCH, operations });
    expect(byId(report, "UNION_MEMBER_REMOVED:SearchResult|Profile")?.level).toBe("breaking");
  });
});

describe("approvals", () => {
  it("an approved breaking change passes, and so do the operations it breaks; an approval matching nothing is stale", async () => {
    const { check } = setup();
    const approvals = [
      { change: "FIELD_REMOVED:Profile.bio", reason: "bio moves to Profile.about", by: "alice" },
      { change: "FIELD_REMOVED:User.nickname", reason: "gone already", by: "bob" },
    ];
    const report = await check([["user", "  bio: String\n", ""]], { approvals });
    expect(byId(report, "FIELD_REMOVED:Profile.bio")).toMatchObject({
      level: "breaking",
      approval: { reason: "bio moves to Profile.about", by: "alice" },
    });
    const broken = findingsOf(report, "operations").filter((f) => f.kind === "OPERATION_BROKEN");
    expect(broken.length).toBeGreaterThan(0);
    for (const finding of broken) expect(finding.approval?.by).toBe("alice");
    expect(report.staleApprovals).toEqual([
      { id: "FIELD_REMOVED:User.nickname", reason: "gone already", by: "bob" },
    ]);
    expect(report.steps.find((step) => step.step === "diff")?.status).toBe("passed");
    expect(report.exitCode).toBe(0);
  });
});

describe("deprecations", () => {
  it("lists each deprecated element with who still uses it, or as safe to remove", async () => {
    const { check } = setup();
    const deprecate: Edit[] = [
      ["user", "  bio: String\n", '  bio: String @deprecated(reason: "use about")\n'],
      ["auth", "  cursor: String!\n", '  cursor: String! @deprecated(reason: "use pageInfo")\n'],
    ];
    const report = await check([], { baseEdits: deprecate });
    const findings = findingsOf(report, "operations");
    expect(findings.find((f) => f.coordinate === "Profile.bio")).toMatchObject({
      level: "info",
      kind: "DEPRECATED_IN_USE",
      subgraph: "user",
    });
    expect(usedByNames(findings.find((f) => f.coordinate === "Profile.bio"))).toContain(
      "Me (schema/operations/user.graphql)",
    );
    const cursor = findings.find((f) => f.coordinate === "AuditEventEdge.cursor");
    expect(cursor).toMatchObject({ level: "info", kind: "DEPRECATED_UNUSED", subgraph: "auth" });
    expect(cursor?.message).toContain("safe to remove");
    expect(report.exitCode).toBe(0);
  });
});

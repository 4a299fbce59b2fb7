import { operationDocuments } from "../../router/operation-measures";
import type { UsageFile } from "../../router/usage/usage-file";
import type { KnownOperations } from "../../scripts/schema/check/known-operations";
import {
  byId,
  type Edit,
  findingsOf,
  PROFILE_BIO,
  setup,
  usedByNames,
  WITH_SEARCH,
} from "../support/schema-check";

/*
 * Who a change touches decides how bad it is: the repository's operations, the persisted
 * operations of releases and recorded client usage; approvals; the deprecation workflow; and the
 * router's limits on every known operation. Changes are made to this repository's own SDL.
 */

describe("a breaking change is breaking only when a known operation or client touches it", () => {
  const REMOVE_BIO: Edit[] = [["user", PROFILE_BIO, "\n"]];
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
    const report = await check([["user", PROFILE_BIO, "\n"]], { approvals });
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

describe("known operations against the router's limits", () => {
  it("an operation over a limit is an error, named with where it comes from", async () => {
    const { check, known } = setup();
    const aliases = Array.from({ length: 11 }, (_, i) => `a${i}: me { id }`).join(" ");
    const [many] = operationDocuments(`query ManyAliases { ${aliases} }`);
    const operations: KnownOperations = {
      ...known,
      operations: [
        { ...many!, uses: [{ name: "ManyAliases", source: "release 0.0.9" }], location: { file: "x" } },
      ],
    };
    const report = await check([], { operations });
    expect(findingsOf(report, "operations")).toContainEqual(
      expect.objectContaining({
        level: "error",
        kind: "OPERATION_OVER_LIMIT",
        message: "ManyAliases (release 0.0.9) would be refused by the router: aliases 11 > 10",
      }),
    );
    expect(report.exitCode).toBe(1);
  });
});

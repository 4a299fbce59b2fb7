import { type CheckReport, type Finding, stepResult } from "../../scripts/schema/check/report";

/*
 * CheckReports built by hand for the reporter tests: one of every level, an approved breaking
 * change, a stale approval, usage, findings with and without a location, and text that breaks
 * Markdown tables.
 */

export const removedEmail: Finding = {
  step: "diff",
  level: "breaking",
  kind: "FIELD_REMOVED",
  coordinate: "User.email",
  id: "FIELD_REMOVED:User.email",
  subgraph: "user",
  message: "Field 'email' was removed from object type 'User'",
  location: { file: "schema/user.graphql", line: 12, column: 3 },
  usedBy: {
    operations: [{ name: "GetUser", source: "schema/operations/user.graphql" }],
    clients: [{ name: "web", version: "1.2.0", count: 3, lastSeen: "2026-12-06" }],
  },
};

export const approvedRemoval: Finding = {
  step: "diff",
  level: "breaking",
  kind: "FIELD_REMOVED",
  coordinate: "User.nickname",
  id: "FIELD_REMOVED:User.nickname",
  subgraph: "user",
  message: "Field 'nickname' was removed from object type 'User'",
  location: { file: "schema/user.graphql", line: 20 },
  usedBy: { operations: [], clients: [{ name: "ios", version: "", count: 1, lastSeen: "2026-11-02" }] },
  approval: { reason: "announced in 1.4, gone in 2.0", by: "alice" },
};

export const unusedRemoval: Finding = {
  step: "diff",
  level: "dangerous",
  kind: "FIELD_REMOVED",
  coordinate: "User.legacyId",
  id: "FIELD_REMOVED:User.legacyId",
  message: "Field 'legacyId' was removed from object type 'User'",
  usedBy: { operations: [], clients: [] },
};

export const addedEnumValue: Finding = {
  step: "diff",
  level: "dangerous",
  kind: "ENUM_VALUE_ADDED",
  coordinate: "Role.BOT",
  id: "ENUM_VALUE_ADDED:Role.BOT",
  message: "Enum value 'BOT' was added to enum 'Role'",
};

export const addedField: Finding = {
  step: "diff",
  level: "safe",
  kind: "FIELD_ADDED",
  coordinate: "User.avatarUrl",
  id: "FIELD_ADDED:User.avatarUrl",
  message: "Field 'avatarUrl' was added to object type 'User'",
  location: { file: "schema/user.graphql", line: 8 },
};

/** A message and coordinate a careless Markdown renderer would break: pipes, backticks, HTML, lines. */
export const hostileFinding: Finding = {
  step: "lint",
  level: "warning",
  kind: "@graphql-eslint/require-description",
  coordinate: "Query.search(filter:`a|b`)",
  subgraph: "analytics",
  message: "Description of `Query.search` is missing | add one\nsecond line <script>alert(1)</script> *bold*",
  location: { file: "schema/analytics.graphql", line: 40, column: 5 },
};

export const compositionError: Finding = {
  step: "composition",
  level: "error",
  kind: "INVALID_FIELD_SHARING",
  coordinate: "User.name",
  message:
    'Non-shareable field "User.name" is resolved from multiple subgraphs: it is resolved from subgraphs "auth" and "user"',
};

export const deprecatedUnused: Finding = {
  step: "operations",
  level: "info",
  kind: "DEPRECATED_UNUSED",
  coordinate: "User.fullName",
  message: "Deprecated and no recorded use: safe to remove",
};

export function buildReport(overrides: Partial<CheckReport> = {}): CheckReport {
  return {
    base: "origin/main (3f2a1b0)",
    head: "working tree",
    steps: [
      stepResult("composition", "4 subgraphs composed", [compositionError]),
      stepResult("diff", "6 API changes", [
        addedField,
        unusedRemoval,
        approvedRemoval,
        removedEmail,
        addedEnumValue,
      ]),
      stepResult("operations", "37 operations from 3 sources", [deprecatedUnused]),
      stepResult("lint", "4 subgraphs and 4 operation files linted", [hostileFinding]),
      { step: "events", status: "skipped", summary: "no event contract changed", findings: [] },
    ],
    staleApprovals: [{ id: "ARG_REMOVED:Query.users(first:)", reason: "paging rewrite", by: "bob" }],
    exitCode: 1,
    ...overrides,
  };
}

/** Nothing fails: the composition error and the unapproved breaking change are gone. */
export const passingReport = (): CheckReport =>
  buildReport({
    steps: [
      stepResult("composition", "4 subgraphs composed", []),
      stepResult("diff", "3 API changes", [addedField, approvedRemoval, addedEnumValue]),
    ],
    staleApprovals: [],
    exitCode: 0,
  });

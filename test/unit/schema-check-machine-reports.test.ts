import "@microsoft/jest-sarif";

import type { Log, Result } from "sarif";

import { type Finding, stepResult } from "../../scripts/schema/check/report";
import * as json from "../../scripts/schema/check/reporters/json";
import * as sarif from "../../scripts/schema/check/reporters/sarif";
import {
  addedEnumValue,
  addedField,
  approvedRemoval,
  buildReport,
  compositionError,
  deprecatedUnused,
  hostileFinding,
  removedEmail,
  unusedRemoval,
} from "../support/check-report";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- how jest's matcher types are extended
  namespace jest {
    interface Matchers<R> {
      /** From @microsoft/jest-sarif: validates against the SARIF 2.1.0 JSON schema it ships. */
      toBeValidSarifLog(): R;
    }
  }
}

describe("JSON report", () => {
  it("is the report as it is, with its format", () => {
    const report = buildReport();
    expect(JSON.parse(json.render(report, { color: false }))).toEqual({
      format: "orion-schema-check/1",
      ...report,
    });
  });

  it("writes keys in one order whatever order the steps built their objects in", () => {
    const reversed = (finding: Finding) => Object.fromEntries(Object.entries(finding).reverse()) as Finding;
    const report = buildReport();
    const shuffled = {
      exitCode: report.exitCode,
      staleApprovals: report.staleApprovals,
      steps: report.steps.map((step) => ({
        findings: step.findings.map(reversed),
        summary: step.summary,
        status: step.status,
        step: step.step,
      })),
      head: report.head,
      base: report.base,
    };
    const text = json.render(report, { color: false });
    expect(json.render(shuffled, { color: false })).toBe(text);
    expect(Object.keys(JSON.parse(text))).toEqual([
      "format",
      "base",
      "head",
      "exitCode",
      "steps",
      "staleApprovals",
    ]);
    expect(text.indexOf('"level"')).toBeLessThan(text.indexOf('"message"'));
  });
});

describe("SARIF report", () => {
  const log = (report = buildReport()): Log => JSON.parse(sarif.render(report, { color: false })) as Log;
  const results = (report = buildReport()) => log(report).runs[0]!.results!;
  const resultFor = (finding: Finding, all = results()) =>
    all.find((result) => result.partialFingerprints?.["orionFindingId/v1"] === finding.id) as Result;

  it("is valid SARIF 2.1.0", () => {
    expect(log()).toBeValidSarifLog();
    expect(log()).toMatchObject({
      version: "2.1.0",
      runs: [{ tool: { driver: { name: "orion schema check" } } }],
    });
  });

  it("declares each kind once as a rule, and every result points at its rule", () => {
    const run = log().runs[0]!;
    const rules = run.tool.driver.rules!;
    const ids = rules.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining([
        "FIELD_REMOVED",
        "FIELD_ADDED",
        "ENUM_VALUE_ADDED",
        "INVALID_FIELD_SHARING",
        "STALE_APPROVAL",
      ]),
    );
    expect(rules.find((rule) => rule.id === "FIELD_REMOVED")!.shortDescription!.text).toBe(
      "API changes: Field removed",
    );
    expect(rules.find((rule) => rule.id === hostileFinding.kind)!.shortDescription!.text).toBe(
      "Schema lint: Require description",
    );
    for (const result of run.results!) expect(rules[result.ruleIndex!]!.id).toBe(result.ruleId);
  });

  it("maps levels: error for what fails, warning for what needs a decision, note for the record", () => {
    const all = results();
    const levelOf = (finding: Finding) =>
      all.find(
        (result) =>
          result.ruleId === finding.kind && result.message.text?.startsWith(`${finding.coordinate}:`),
      )!.level;
    expect(levelOf(compositionError)).toBe("error");
    expect(levelOf(removedEmail)).toBe("error");
    expect(levelOf(approvedRemoval)).toBe("note");
    expect(levelOf(unusedRemoval)).toBe("warning");
    expect(levelOf(addedEnumValue)).toBe("warning");
    expect(levelOf(hostileFinding)).toBe("warning");
    expect(levelOf(addedField)).toBe("note");
    expect(levelOf(deprecatedUnused)).toBe("note");
  });

  it("puts a finding on its repository-relative file and line", () => {
    expect(resultFor(removedEmail).locations).toEqual([
      {
        physicalLocation: {
          artifactLocation: { uri: "schema/user.graphql", uriBaseId: "%SRCROOT%" },
          region: { startLine: 12, startColumn: 3 },
        },
      },
    ]);
    expect(resultFor(addedField).locations![0]!.physicalLocation!.region).toEqual({ startLine: 8 });
  });

  it("anchors every finding without a location to a file, as GitHub refuses results without one", () => {
    const all = results();
    for (const result of all)
      expect(result.locations![0]!.physicalLocation!.artifactLocation!.uri).toMatch(/^schema\//);
    const uriOf = (result: Result) => result.locations![0]!.physicalLocation!.artifactLocation!.uri;
    expect(uriOf(resultFor(unusedRemoval, all))).toBe("schema/api.graphql");
    const composition = all.find((result) => result.ruleId === compositionError.kind)!;
    expect(uriOf(composition)).toBe("schema/supergraph.graphql");
    expect(composition.locations![0]!.physicalLocation!.region).toBeUndefined();
    const inSubgraph = results(
      buildReport({ steps: [stepResult("lint", "", [{ ...hostileFinding, location: undefined }])] }),
    );
    expect(uriOf(inSubgraph[0]!)).toBe("schema/analytics.graphql");
    const stale = all.find((result) => result.ruleId === "STALE_APPROVAL")!;
    expect(uriOf(stale)).toBe("schema/approvals.json");
    expect(stale.message.text).toContain("ARG_REMOVED:Query.users(first:)");
  });

  it("fingerprints results by the finding's id, so code scanning follows a change across commits", () => {
    const before = resultFor(removedEmail);
    expect(before.partialFingerprints).toEqual({ "orionFindingId/v1": "FIELD_REMOVED:User.email" });
    const moved = { ...removedEmail, location: { file: "schema/user.graphql", line: 30 } };
    const after = resultFor(moved, results(buildReport({ steps: [stepResult("diff", "", [moved])] })));
    expect(after.partialFingerprints).toEqual(before.partialFingerprints);
    const noId = results(buildReport({ steps: [stepResult("composition", "", [compositionError])] }))[0]!;
    expect(noId.partialFingerprints!["orionFindingId/v1"]).toBe(
      `composition:INVALID_FIELD_SHARING:User.name`,
    );
  });

  it("tells in the message who uses a change and who approved it", () => {
    expect(resultFor(removedEmail).message.text).toBe(
      "User.email: Field 'email' was removed from object type 'User'. " +
        "Used by operations GetUser (schema/operations/user.graphql); clients web 1.2.0 (3×, last 2026-12-06).",
    );
    expect(resultFor(approvedRemoval).message.text).toContain(
      "approved by alice: announced in 1.4, gone in 2.0.",
    );
  });

  it("is valid with no findings at all", () => {
    const empty = log(
      buildReport({ steps: [stepResult("diff", "no API change", [])], staleApprovals: [], exitCode: 0 }),
    );
    expect(empty).toBeValidSarifLog();
    expect(empty.runs[0]!.results).toEqual([]);
  });
});

import type { Location, Log, ReportingDescriptor, Result } from "sarif";

import { type CheckReport, type Finding, STEP_TITLES, type StepName } from "../report";
import { approvalText, STALE_APPROVALS_HINT, usageText } from "./findings";

/*
 * SARIF 2.1.0 for code scanning (github/codeql-action/upload-sarif): each finding an alert on the
 * file and line it comes from, tracked across commits by the finding's stable id.
 */

export const TOOL_NAME = "orion schema check";
const SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json";
const APPROVALS_FILE = "schema/approvals.json";
const STALE_APPROVAL_RULE = "STALE_APPROVAL";

/*
 * GitHub refuses a whole SARIF file when one result has no physical location, so a finding
 * without one is anchored to the file that holds what it is about: its subgraph's SDL, else the
 * file of its step.
 */
const STEP_FILES: Record<StepName, string> = {
  composition: "schema/supergraph.graphql",
  diff: "schema/api.graphql",
  operations: "schema/api.graphql",
  lint: "schema/api.graphql",
  events: "schema/events.md",
};

/** error for what fails the check, warning for what needs a decision, note for the record. */
function sarifLevel(finding: Finding): Result.level {
  switch (finding.level) {
    case "error":
      return "error";
    case "breaking":
      return finding.approval ? "note" : "error";
    case "dangerous":
    case "warning":
      return "warning";
    default:
      return "note";
  }
}

/** "FIELD_REMOVED" → "Field removed", "@graphql-eslint/require-description" → "Require description". */
function described(kind: string): string {
  const words = (kind.split("/").pop() ?? kind).replace(/^@/, "").replace(/[_-]+/g, " ").trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function rule(id: string, step: StepName | undefined, text: string): ReportingDescriptor {
  return {
    id,
    shortDescription: { text: step ? `${STEP_TITLES[step]}: ${text}` : text },
    properties: { tags: ["graphql", "schema", ...(step ? [step] : [])] },
  };
}

function location(file: string, line?: number, column?: number): Location {
  // Paths in a report are repository-relative; %SRCROOT% is the checkout upload-sarif resolves them against.
  const region =
    line === undefined ? undefined : { startLine: line, ...(column ? { startColumn: column } : {}) };
  return {
    physicalLocation: {
      artifactLocation: { uri: file, uriBaseId: "%SRCROOT%" },
      ...(region ? { region } : {}),
    },
  };
}

/** The finding's message with what a reviewer needs beside it: who uses the change, who approved it. */
function messageText(finding: Finding): string {
  const subject = finding.coordinate ? `${finding.coordinate}: ${finding.message}` : finding.message;
  const parts = [/[.!?]$/.test(subject) ? subject : `${subject}.`];
  if (finding.usedBy) parts.push(`Used by ${usageText(finding.usedBy)}.`);
  if (finding.approval) parts.push(`${approvalText(finding.approval)}.`);
  return parts.join(" ");
}

/** Steps give diff findings an id; for the others the same finding in two commits has the same kind, subject and file. */
const fingerprint = (finding: Finding): string =>
  finding.id ??
  [
    finding.step,
    finding.kind,
    finding.coordinate ?? finding.message,
    finding.subgraph ?? finding.location?.file,
  ]
    .filter((part) => part !== undefined)
    .join(":");

function findingResult(finding: Finding, ruleIndex: number): Result {
  const file =
    finding.location?.file ??
    (finding.subgraph ? `schema/${finding.subgraph}.graphql` : STEP_FILES[finding.step]);
  return {
    ruleId: finding.kind,
    ruleIndex,
    level: sarifLevel(finding),
    message: { text: messageText(finding) },
    locations: [location(file, finding.location?.line, finding.location?.column)],
    partialFingerprints: { "orionFindingId/v1": fingerprint(finding) },
    properties: {
      step: finding.step,
      orionLevel: finding.level,
      ...(finding.subgraph ? { subgraph: finding.subgraph } : {}),
    },
  };
}

export function render(report: CheckReport, _options: { color: boolean }): string {
  const rules: ReportingDescriptor[] = [];
  const ruleIndexes = new Map<string, number>();
  const ruleIndex = (id: string, make: () => ReportingDescriptor) => {
    let index = ruleIndexes.get(id);
    if (index === undefined) {
      index = rules.push(make()) - 1;
      ruleIndexes.set(id, index);
    }
    return index;
  };
  const results = report.steps
    .flatMap((step) => step.findings)
    .map((finding) =>
      findingResult(
        finding,
        ruleIndex(finding.kind, () => rule(finding.kind, finding.step, described(finding.kind))),
      ),
    );
  for (const stale of report.staleApprovals) {
    const index = ruleIndex(STALE_APPROVAL_RULE, () =>
      rule(STALE_APPROVAL_RULE, undefined, "Stale approval"),
    );
    results.push({
      ruleId: STALE_APPROVAL_RULE,
      ruleIndex: index,
      level: "note",
      message: {
        text: `Approval of ${stale.id} (${stale.reason}, by ${stale.by}) matches no change: ${STALE_APPROVALS_HINT}.`,
      },
      locations: [location(APPROVALS_FILE)],
      partialFingerprints: { "orionFindingId/v1": `${STALE_APPROVAL_RULE}:${stale.id}` },
    });
  }
  const log: Log = {
    $schema: SCHEMA_URI,
    version: "2.1.0",
    runs: [{ tool: { driver: { name: TOOL_NAME, rules } }, results }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

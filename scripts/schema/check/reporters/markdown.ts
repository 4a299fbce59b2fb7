import { type CheckReport, type Finding, STEP_TITLES, type StepResult } from "../report";
import {
  approvalText,
  type Group,
  GROUP_TITLES,
  groupFindings,
  groupOf,
  locationText,
  RECORD_GROUPS,
  STALE_APPROVALS_HINT,
  tally,
  usageText,
  verdict,
} from "./findings";

/*
 * The pull-request comment. CI finds its previous comment by MARKER and edits it rather than
 * adding one per push. Everything that comes from a schema or a file (messages, coordinates,
 * paths) is escaped: a `|` would split a table cell, a newline end the table, and a description
 * may hold Markdown or HTML that must not render in a review.
 */

export const MARKER = "<!-- orion-schema-check -->";

/** GitHub refuses comments over 65,536 characters; stay under it with room for the note that says so. */
export const COMMENT_LIMIT = 60_000;

const ICONS: Record<Group, string> = {
  error: "⛔",
  breaking: "❌",
  approved: "☑️",
  dangerous: "⚠️",
  warning: "⚠️",
  safe: "✅",
  info: "ℹ️",
};

const STATUS_ICONS: Record<StepResult["status"], string> = { passed: "✅", failed: "❌", skipped: "⏭️" };

/** Plain text in a table cell: Markdown and HTML punctuation escaped, lines joined with <br>. */
export function cell(text: string): string {
  return text.replace(/[\\`*_[\]<>|~#&]/g, (char) => `\\${char}`).replace(/\r?\n/g, "<br>");
}

/**
 * A code span that survives a table cell: a fence longer than any run of backticks inside, a
 * space on each side when the text starts or ends with one, and `|` escaped (GFM splits cells
 * before it reads code spans, and turns `\|` back into `|`).
 */
export function code(text: string): string {
  const flat = text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
  const longestRun = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

function findingRow(finding: Finding): string {
  const group = groupOf(finding);
  const change = [cell(finding.message), code(finding.kind)];
  if (finding.approval) change.push(`**${cell(approvalText(finding.approval))}**`);
  const where = [
    finding.subgraph && cell(finding.subgraph),
    finding.location && code(locationText(finding.location)),
  ].filter(Boolean);
  const cells = [
    `${ICONS[group]} ${group === "approved" ? "breaking, approved" : group}`,
    finding.coordinate ? code(finding.coordinate) : "",
    change.join("<br>"),
    where.join("<br>"),
    finding.usedBy ? cell(usageText(finding.usedBy)) : "",
  ];
  return `| ${cells.join(" | ")} |`;
}

function table(findings: Finding[]): string[] {
  return [
    "| Level | Coordinate | Change | Where | Used by |",
    "| --- | --- | --- | --- | --- |",
    ...findings.map(findingRow),
  ];
}

function stepSection(step: StepResult, withRecord: boolean): string[] {
  const groups = groupFindings(step.findings);
  const toRead = groups.filter(([group]) => !RECORD_GROUPS.has(group)).flatMap(([, members]) => members);
  const record = groups.filter(([group]) => RECORD_GROUPS.has(group));
  const lines = [
    `### ${STATUS_ICONS[step.status]} ${STEP_TITLES[step.step]}: ${step.status}`,
    "",
    cell(step.summary),
  ];
  if (toRead.length > 0) lines.push("", ...table(toRead));
  if (record.length > 0 && withRecord) {
    const summary = record.map(([group, members]) => `${members.length} ${GROUP_TITLES[group]}`).join(", ");
    const members = record.flatMap(([, findings]) => findings);
    // Blank lines around the table: GitHub renders Markdown inside <details> only when separated.
    lines.push("", `<details><summary>${summary}</summary>`, "", ...table(members), "", "</details>");
  } else if (record.length > 0) {
    lines.push(
      "",
      `_${record.reduce((sum, [, members]) => sum + members.length, 0)} safe and info findings left out_`,
    );
  }
  return lines;
}

function staleSection(report: CheckReport): string[] {
  if (report.staleApprovals.length === 0) return [];
  return [
    "### ⚠️ Stale approvals",
    "",
    cell(STALE_APPROVALS_HINT),
    "",
    "| Change | Reason | By |",
    "| --- | --- | --- |",
    ...report.staleApprovals.map(
      (stale) => `| ${code(stale.id)} | ${cell(stale.reason)} | ${cell(stale.by)} |`,
    ),
  ];
}

function document(report: CheckReport, withRecord: boolean): string[] {
  const outcome = verdict(report);
  return [
    MARKER,
    `## ${outcome === "passed" ? "✅" : "❌"} Schema check ${outcome}`,
    "",
    `${code(report.base)} → ${code(report.head)}: ${tally(report)}`,
    ...report.steps.flatMap((step) => ["", ...stepSection(step, withRecord)]),
    ...(report.staleApprovals.length > 0 ? ["", ...staleSection(report)] : []),
  ];
}

const TRUNCATED =
  "\n\n_The report is longer than a comment can hold: the full report is in the job's output._\n";

/**
 * Collapsed safe and info findings go first when the comment is too long, then the rows past
 * the limit (a table cut between rows still renders).
 */
export function render(report: CheckReport, _options: { color: boolean }): string {
  const full = `${document(report, true).join("\n")}\n`;
  if (full.length <= COMMENT_LIMIT) return full;
  const lines = document(report, false);
  let text = "";
  for (const line of lines) {
    if (text.length + line.length + 1 > COMMENT_LIMIT) return `${text.trimEnd()}${TRUNCATED}`;
    text += `${line}\n`;
  }
  return text;
}

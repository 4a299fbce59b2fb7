import { createColors } from "picocolors";
import type { Colors, Formatter } from "picocolors/types";

import { type CheckReport, type Finding, STEP_TITLES, type StepResult } from "../report";
import {
  approvalText,
  type Group,
  GROUP_TITLES,
  groupFindings,
  locationText,
  STALE_APPROVALS_HINT,
  tally,
  usageText,
  verdict,
} from "./findings";

/* The terminal report: one block per step, findings grouped by level, failures first. */

const MARKS: Record<Group, string> = {
  error: "✖",
  breaking: "✖",
  approved: "✔",
  dangerous: "▲",
  warning: "▲",
  safe: "✓",
  info: "·",
};

function groupColor(c: Colors, group: Group): Formatter {
  switch (group) {
    case "error":
    case "breaking":
      return c.red;
    case "dangerous":
    case "warning":
      return c.yellow;
    case "approved":
    case "safe":
      return c.green;
    case "info":
      return c.dim;
  }
}

function statusColor(c: Colors, status: StepResult["status"]): Formatter {
  return status === "failed" ? c.red : status === "passed" ? c.green : c.dim;
}

/** A multi-line message (composition errors have them) stays inside its finding. */
const indented = (text: string) => text.replace(/\n/g, "\n      ");

function findingLines(c: Colors, group: Group, finding: Finding): string[] {
  const color = groupColor(c, group);
  const subject = finding.coordinate ? `${c.bold(finding.coordinate)}  ` : "";
  const lines = [
    `    ${color(MARKS[group])} ${subject}${indented(finding.message)} ${c.dim(`[${finding.kind}]`)}`,
  ];
  const where = [
    finding.subgraph && `subgraph ${finding.subgraph}`,
    finding.location && locationText(finding.location),
  ].filter(Boolean);
  if (where.length > 0) lines.push(`      ${c.dim("at")} ${where.join(", ")}`);
  if (finding.usedBy) lines.push(`      ${c.dim("used by")} ${usageText(finding.usedBy)}`);
  if (finding.approval) lines.push(`      ${c.green(approvalText(finding.approval))}`);
  return lines;
}

function stepLines(c: Colors, step: StepResult): string[] {
  const lines = [
    `${c.bold(STEP_TITLES[step.step])}: ${statusColor(c, step.status)(step.status)} — ${step.summary}`,
  ];
  for (const [group, findings] of groupFindings(step.findings)) {
    lines.push(`  ${groupColor(c, group)(`${GROUP_TITLES[group]} (${findings.length})`)}`);
    for (const finding of findings) lines.push(...findingLines(c, group, finding));
  }
  return lines;
}

export function render(report: CheckReport, options: { color: boolean }): string {
  const c = createColors(options.color);
  const blocks = [[`${c.bold("orion schema check")}: ${report.base} → ${report.head}`]];
  for (const step of report.steps) blocks.push(stepLines(c, step));
  if (report.staleApprovals.length > 0) {
    blocks.push([
      `${c.bold("Stale approvals")}: ${c.yellow(STALE_APPROVALS_HINT)}`,
      ...report.staleApprovals.map(
        (stale) => `    ${c.yellow("▲")} ${stale.id} — ${stale.reason} ${c.dim(`(by ${stale.by})`)}`,
      ),
    ]);
  }
  const outcome = verdict(report);
  blocks.push([`${tally(report)} — ${statusColor(c, outcome)(`check ${outcome}`)}`]);
  return `${blocks.map((lines) => lines.join("\n")).join("\n\n")}\n`;
}

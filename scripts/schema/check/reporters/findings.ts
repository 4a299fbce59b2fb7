import type { CheckReport, Finding, Level, Location, Usage } from "../report";

/*
 * What every reporter says the same way: the order findings are read in, the tally line, where a
 * finding is and who uses what it changes. The formats differ in markup only.
 */

/** An approved breaking change is its own group: it passes, yet a reviewer must see it next to the failures. */
export type Group = Level | "approved";

/** Failures first (errors, unapproved breaking changes), then what needs a decision, then the record. */
export const GROUP_ORDER: readonly Group[] = [
  "error",
  "breaking",
  "approved",
  "dangerous",
  "warning",
  "safe",
  "info",
];

export const GROUP_TITLES: Record<Group, string> = {
  error: "errors",
  breaking: "breaking",
  approved: "breaking, approved",
  dangerous: "dangerous",
  warning: "warnings",
  safe: "safe",
  info: "info",
};

/** Groups a reader can skip: in Markdown they are collapsed. */
export const RECORD_GROUPS: ReadonlySet<Group> = new Set<Group>(["safe", "info"]);

export const groupOf = (finding: Finding): Group =>
  finding.level === "breaking" && finding.approval ? "approved" : finding.level;

/** The non-empty groups in GROUP_ORDER; findings keep the order the step gave them. */
export function groupFindings(findings: readonly Finding[]): [Group, Finding[]][] {
  return GROUP_ORDER.map((group): [Group, Finding[]] => [
    group,
    findings.filter((finding) => groupOf(finding) === group),
  ]).filter(([, members]) => members.length > 0);
}

export const allFindings = (report: CheckReport): Finding[] => report.steps.flatMap((step) => step.findings);

export const verdict = (report: CheckReport): "passed" | "failed" =>
  report.exitCode === 0 ? "passed" : "failed";

const COUNT_NOUNS: Record<Group, [string, string]> = {
  error: ["error", "errors"],
  breaking: ["breaking", "breaking"],
  approved: ["approved breaking", "approved breaking"],
  dangerous: ["dangerous", "dangerous"],
  warning: ["warning", "warnings"],
  safe: ["safe", "safe"],
  info: ["info", "info"],
};

const counted = (count: number, [one, many]: [string, string]) => `${count} ${count === 1 ? one : many}`;

/** "1 error, 2 breaking, 1 approved breaking, 3 safe, 1 stale approval", or "no findings". */
export function tally(report: CheckReport): string {
  const findings = allFindings(report);
  const parts = GROUP_ORDER.map(
    (group) => [group, findings.filter((f) => groupOf(f) === group).length] as const,
  )
    .filter(([, count]) => count > 0)
    .map(([group, count]) => counted(count, COUNT_NOUNS[group]));
  if (report.staleApprovals.length > 0)
    parts.push(counted(report.staleApprovals.length, ["stale approval", "stale approvals"]));
  return parts.length > 0 ? parts.join(", ") : "no findings";
}

/** `file:line:column`, as terminals and editors open it; as much of it as is known. */
export const locationText = (location: Location): string =>
  [location.file, location.line, location.line === undefined ? undefined : location.column]
    .filter((part) => part !== undefined)
    .join(":");

/** Enough names to recognise; the JSON report has them all. */
const LISTED = 10;

function listed(items: string[]): string {
  const shown = items.slice(0, LISTED).join(", ");
  return items.length > LISTED ? `${shown} and ${items.length - LISTED} more` : shown;
}

export const operationText = (operation: Usage["operations"][number]): string =>
  `${operation.name} (${operation.source})`;

export const clientText = (client: Usage["clients"][number]): string =>
  `${[client.name, client.version].filter(Boolean).join(" ")} (${client.count}×, last ${client.lastSeen})`;

/**
 * "operations A (file), B (release 1.2.0); clients web 1.2.0 (3×, last 2026-12-06)". An empty
 * usage is stated, not hidden: it is why a breaking change was reported as dangerous.
 */
export function usageText(usage: Usage): string {
  const parts = [];
  if (usage.operations.length > 0) parts.push(`operations ${listed(usage.operations.map(operationText))}`);
  if (usage.clients.length > 0) parts.push(`clients ${listed(usage.clients.map(clientText))}`);
  return parts.length > 0 ? parts.join("; ") : "no known operation or client";
}

export const approvalText = (approval: NonNullable<Finding["approval"]>): string =>
  `approved by ${approval.by}: ${approval.reason}`;

export const STALE_APPROVALS_HINT =
  "the base already contains these changes: remove them from schema/approvals.json";

/**
 * What `orion schema check` finds, in one shape every step fills and every reporter (terminal,
 * Markdown, JSON, SARIF) reads. Steps never print: they return findings.
 */

export type StepName = "composition" | "diff" | "operations" | "lint" | "events";

/**
 * - error: the change cannot ship (composition fails, an operation no longer validates or exceeds a
 *   router limit, an event contract breaks, a lint error);
 * - breaking: an API change a known client is hurt by (or, without usage data, any client could be);
 * - dangerous: may change behaviour for clients (a new enum value, a changed default), or breaking
 *   but used by no known operation;
 * - warning: lint warnings and hints worth reading;
 * - safe / info: reported for the record.
 */
export type Level = "error" | "breaking" | "dangerous" | "warning" | "safe" | "info";

/** Repository-relative file (an SDL file, an operations file, a source file) and 1-based line. */
export interface Location {
  file: string;
  line?: number;
  column?: number;
}

/** A known operation or client that a change touches. */
export interface Usage {
  operations: { name: string; source: string }[];
  clients: { name: string; version: string; count: number; lastSeen: string }[];
}

export interface Finding {
  step: StepName;
  level: Level;
  /** The change kind (graphql-inspector's change type, a lint rule id, a composition error code). */
  kind: string;
  /** A schema coordinate: `User.email`, `Query.users(first:)`, `Kind.BOT`, `@key(fields:)`. */
  coordinate?: string;
  /** Stable across commits and merge queues: `${kind}:${coordinate}` for diff findings. */
  id?: string;
  subgraph?: string;
  message: string;
  location?: Location;
  usedBy?: Usage;
  /** Set when schema/approvals.json approves this breaking change: it is reported, not failed. */
  approval?: { reason: string; by: string };
}

export interface StepResult {
  step: StepName;
  /** failed: at least one error or unapproved breaking finding. */
  status: "passed" | "failed" | "skipped";
  /** One line: what was checked ("4 subgraphs composed", "37 operations from 3 sources"). */
  summary: string;
  findings: Finding[];
}

export interface CheckReport {
  /** What was compared: e.g. "origin/main (3f2a1b0)" and "working tree" or "user: proposed.graphql". */
  base: string;
  head: string;
  steps: StepResult[];
  /** Approvals in schema/approvals.json that matched nothing (the base already holds the change). */
  staleApprovals: { id: string; reason: string; by: string }[];
  /** 0 when nothing breaks, 1 when something does (2, a usage error, never reaches a report). */
  exitCode: 0 | 1;
}

export const STEP_TITLES: Record<StepName, string> = {
  composition: "Composition",
  diff: "API changes",
  operations: "Operations",
  lint: "Schema lint",
  events: "Event contracts",
};

/** A finding fails the check when it is an error, or a breaking change nobody approved. */
export const fails = (finding: Finding): boolean =>
  finding.level === "error" || (finding.level === "breaking" && !finding.approval);

/** A step's status from its findings. */
export function stepResult(step: StepName, summary: string, findings: Finding[]): StepResult {
  return { step, summary, findings, status: findings.some(fails) ? "failed" : "passed" };
}

/** Bad input (unknown subgraph, unparsable SDL, unknown ref, malformed file): exit 2, one line. */
export class CheckUsageError extends Error {}

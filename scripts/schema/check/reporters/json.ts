import type { CheckReport } from "../report";

/*
 * The report as data, for scripts and dashboards. Keys come out in one fixed order whatever order
 * the steps built their objects in, so two runs over the same change give the same bytes and a
 * diff of two reports shows only what changed.
 */

export const REPORT_FORMAT = "orion-schema-check/1";

/** Keys in reading order; a key not listed (a field added later) follows them, alphabetically. */
const KEY_ORDER = [
  "format",
  "base",
  "head",
  "exitCode",
  "step",
  "status",
  "summary",
  "level",
  "kind",
  "coordinate",
  "id",
  "subgraph",
  "message",
  "location",
  "file",
  "line",
  "column",
  "usedBy",
  "operations",
  "clients",
  "name",
  "version",
  "source",
  "count",
  "lastSeen",
  "approval",
  "reason",
  "by",
  "steps",
  "findings",
  "staleApprovals",
];

const RANK = new Map(KEY_ORDER.map((key, index) => [key, index]));

function byKeyOrder(a: string, b: string): number {
  const rankA = RANK.get(a) ?? KEY_ORDER.length;
  const rankB = RANK.get(b) ?? KEY_ORDER.length;
  return rankA !== rankB ? rankA - rankB : a < b ? -1 : a > b ? 1 : 0;
}

function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordered);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort(byKeyOrder)
      .map((key) => [key, ordered((value as Record<string, unknown>)[key])]),
  );
}

export function render(report: CheckReport, _options: { color: boolean }): string {
  return `${JSON.stringify(ordered({ format: REPORT_FORMAT, ...report }), null, 2)}\n`;
}

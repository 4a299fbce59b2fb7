import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

import { z } from "zod";

import { type CheckReport, CheckUsageError, type Finding, type StepResult } from "./report";

/**
 * schema/approvals.json: deliberate breaking changes, each named by its finding id
 * (`FIELD_REMOVED:User.nickname`: kind and coordinate, no commit hash, so an approval survives
 * rebases and merge queues), with a reason and who approved it. An approved breaking finding is
 * reported with its approval and does not fail. An approval that matches no finding is stale: the
 * base already contains the change (or it was never made), and it should leave the file.
 */
export const APPROVALS_FILE = "schema/approvals.json";

const approvalsSchema = z.strictObject({
  approvals: z.array(
    z.strictObject({
      change: z.string().regex(/^[A-Z][A-Z_]*:\S/, "a finding id, <KIND>:<coordinate>"),
      reason: z.string().trim().min(1, "say why"),
      by: z.string().trim().min(1, "say who"),
    }),
  ),
});

export type Approval = z.infer<typeof approvalsSchema>["approvals"][number];

export function parseApprovals(text: string, file = APPROVALS_FILE): Approval[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckUsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = approvalsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CheckUsageError(`${file} is malformed: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const { change } of parsed.data.approvals) {
    if (seen.has(change)) throw new CheckUsageError(`${file} approves ${change} twice`);
    seen.add(change);
  }
  return parsed.data.approvals;
}

/** The repository's approvals (or another file's); none when the repository has no file. */
export function loadApprovals(root: string, file?: string): Approval[] {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(path.resolve(file), "utf8");
    } catch (error) {
      throw new CheckUsageError(
        `cannot read the approvals file ${file}: ${(error as NodeJS.ErrnoException).code}`,
      );
    }
    return parseApprovals(text, file);
  }
  const committed = path.join(root, APPROVALS_FILE);
  return existsSync(committed) ? parseApprovals(readFileSync(committed, "utf8")) : [];
}

/** Marks approved breaking findings and returns the approvals that matched no finding. */
export function applyApprovals(steps: StepResult[], approvals: Approval[]): CheckReport["staleApprovals"] {
  const byId = new Map(approvals.map((approval) => [approval.change, approval]));
  const matched = new Set<string>();
  for (const step of steps)
    for (const finding of step.findings) {
      const approval = finding.id === undefined ? undefined : byId.get(finding.id);
      if (!approval) continue;
      matched.add(approval.change);
      if (finding.level === "breaking") finding.approval = { reason: approval.reason, by: approval.by };
    }
  approveBrokenOperations(steps.flatMap((step) => step.findings));
  return approvals
    .filter((approval) => !matched.has(approval.change))
    .map(({ change, reason, by }) => ({ id: change, reason, by }));
}

const sameOperation = (a: { name: string; source: string }, b: { name: string; source: string }) =>
  a.name === b.name && a.source === b.source;

/**
 * An operation a change breaks (OPERATION_BROKEN) is approved with that change: when every
 * breaking API change that names it is approved, whoever approved them accepted breaking it.
 */
function approveBrokenOperations(findings: Finding[]): void {
  const changes = findings.filter((finding) => finding.step === "diff" && finding.level === "breaking");
  for (const broken of findings.filter((finding) => finding.kind === "OPERATION_BROKEN")) {
    const operations = broken.usedBy?.operations ?? [];
    const causes = changes.filter((change) =>
      change.usedBy?.operations.some((used) =>
        operations.some((operation) => sameOperation(used, operation)),
      ),
    );
    if (causes.length === 0 || !causes.every((cause) => cause.approval)) continue;
    broken.approval = {
      reason: `broken by approved ${causes.map((cause) => cause.id).join(", ")}`,
      by: [...new Set(causes.map((cause) => cause.approval!.by))].join(", "),
    };
  }
}

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { CheckUsageError, type CheckReport, type StepResult } from "./report";

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

/** The repository's approvals; none when the file does not exist. */
export function loadApprovals(root: string): Approval[] {
  const file = path.join(root, APPROVALS_FILE);
  return existsSync(file) ? parseApprovals(readFileSync(file, "utf8")) : [];
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
  return approvals
    .filter((approval) => !matched.has(approval.change))
    .map(({ change, reason, by }) => ({ id: change, reason, by }));
}

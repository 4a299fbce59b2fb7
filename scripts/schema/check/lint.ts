import type { Finding } from "./report";

/*
 * Placeholder until branch i15-lint's lint.ts (@graphql-eslint with the shared config) is merged:
 * the check reports the lint step as skipped, saying why. The real module replaces this file.
 */
export const LINT_PENDING = "schema lint is not wired in yet (@graphql-eslint, branch i15-lint)";

export async function lintGraphql(_files: { path: string; text: string }[]): Promise<Finding[]> {
  return [];
}

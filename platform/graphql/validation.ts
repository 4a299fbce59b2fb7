import type { z } from "zod";

import { badUserInput } from "../errors";

/**
 * Validates resolver input with a zod schema; the first problem becomes BAD_USER_INPUT whose
 * `field` names the offending input field (`input.email`, `first`), as clients expect.
 */
export function validateInput<S extends z.ZodType>(schema: S, value: unknown, root = "input"): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = [root, ...issue.path.map(String)].filter(Boolean).join(".");
  throw badUserInput(field, `${field}: ${issue.message}`);
}

import { z } from "zod";

/**
 * The offline form of the router's recorded usage: `orion schema usage export` writes it and
 * `orion schema check --usage` reads it. Counts are per client (the `apollographql-client-name`
 * and `-version` headers, "unknown" without them) and per schema coordinate (coordinates.ts
 * says how coordinates are spelled). `lastSeen` is the last day (UTC, YYYY-MM-DD) a coordinate
 * was used by that client, for the deprecation workflow.
 */
export const USAGE_FORMAT = "orion-usage/1";

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a day as YYYY-MM-DD");

export const usageFileSchema = z.strictObject({
  format: z.literal(USAGE_FORMAT),
  from: day,
  to: day,
  clients: z.array(
    z.strictObject({
      name: z.string().min(1),
      version: z.string(),
      coordinates: z.record(
        z.string().min(1),
        z.strictObject({ count: z.number().int().nonnegative(), lastSeen: day }),
      ),
    }),
  ),
});

export type UsageFile = z.infer<typeof usageFileSchema>;

/** A usage file that does not parse or match the format: the message is one line, for the CLI. */
export class UsageFileError extends Error {}

export function parseUsageFile(text: string, source = "usage file"): UsageFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageFileError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const parsed = usageFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageFileError(
      `${source} is not an ${USAGE_FORMAT} file: ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
  }
  return parsed.data;
}

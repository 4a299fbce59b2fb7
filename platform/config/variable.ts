import { z } from "zod";

/** How a variable is declared: its validation, and the one-line meaning the configuration table prints. */

export interface Variable<S extends z.ZodType = z.ZodType> {
  schema: S;
  description: string;
}
/** Variables by name: the platform's, one subgraph's, or all of them merged. */
export type VariableCatalogue = Record<string, Variable>;
/** The parsed values of a catalogue's variables (or of the names `N` among them). */
export type EnvOf<C extends VariableCatalogue, N extends keyof C = keyof C> = {
  [K in N]: z.output<C[K]["schema"]>;
};
export const variable = <S extends z.ZodType>(schema: S, description: string): Variable<S> => ({
  schema,
  description,
});

// The value kinds the platform's catalogue and the subgraphs' own share.
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const url = (protocols: string[]) =>
  z.url({ protocol: new RegExp(`^(${protocols.join("|")})$`), error: `must be a ${protocols[0]} URL` });
export const pem = (kind: string) =>
  z
    .string()
    .transform((value) => value.replace(/\\n/g, "\n").trim())
    .refine((value) => value.startsWith("-----BEGIN ") && value.includes(kind), {
      error: `must be a PEM-encoded ${kind}`,
    });
/** A key of exactly `bytes` random bytes, base64-encoded (a `*_FILE` secret may end with a newline). */
export const base64Key = (bytes: number) =>
  z
    .string()
    .trim()
    .refine(
      (value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, "base64").length === bytes,
      {
        error: `must be exactly ${bytes} random bytes, base64-encoded`,
      },
    )
    .transform((value) => Buffer.from(value, "base64"));
/** A comma-separated list, blank entries dropped; `fallback` when unset. */
export const commaSeparated = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean),
    );
export const csv = commaSeparated("");

/** Catalogues merged into one; a variable declared twice is a mistake that would fork its meaning, so it throws. */
export function mergeCatalogues<C extends VariableCatalogue[]>(...catalogues: C): MergedCatalogue<C> {
  const merged: VariableCatalogue = {};
  for (const catalogue of catalogues) {
    for (const [name, declaration] of Object.entries(catalogue)) {
      if (Object.hasOwn(merged, name)) throw new Error(`variable ${name} is declared twice`);
      merged[name] = declaration;
    }
  }
  return merged as MergedCatalogue<C>;
}
type MergedCatalogue<C extends VariableCatalogue[]> = C extends [
  infer First extends VariableCatalogue,
  ...infer Rest extends VariableCatalogue[],
]
  ? First & MergedCatalogue<Rest>
  : unknown;

/** True when the variable must be set (it has neither a default nor an optional marker). */
export function isRequired(declaration: Variable): boolean {
  return !declaration.schema.safeParse(undefined).success;
}

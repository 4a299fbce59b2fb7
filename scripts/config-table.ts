import { isRequired, SERVICE_NAMES } from "../platform/config";
import { type AnyVariableName, SERVICE_VARIABLES, VARIABLES } from "../subgraphs";

/** Where the copy of the table lives, relative to the repository root. */
export const CONFIGURATION_DOC = "docs/configuration.md";

/**
 * The configuration table of docs/configuration.md, from the whole catalogue
 * (platform/config/platform-variables.ts and each subgraph's settings.ts, merged in
 * subgraphs/index.ts): `npm run config:table` prints it, and a unit test fails when the copy in
 * CONFIGURATION_DOC differs.
 */
export function configurationTable(): string {
  const rows = (Object.keys(VARIABLES) as AnyVariableName[]).map((name) => {
    const readers = SERVICE_NAMES.filter((service) =>
      (SERVICE_VARIABLES[service] as readonly string[]).includes(name),
    );
    const parsed = VARIABLES[name].schema.safeParse(undefined);
    const fallback = parsed.success ? (parsed.data as unknown) : undefined;
    const defaultValue = isRequired(VARIABLES[name])
      ? "**required**"
      : fallback === undefined
        ? "optional"
        : `\`${Array.isArray(fallback) ? fallback.join(",") : String(fallback)}\``;
    const readBy = readers.length > 0 ? readers.join(", ") : name === "ORION_DATA_DIR" ? "orion start" : "";
    return [`\`${name}\``, readBy, defaultValue, VARIABLES[name].description];
  });
  const header = ["variable", "read by", "default", "meaning"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

if (require.main === module) console.log(configurationTable());

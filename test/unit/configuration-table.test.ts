import { readFileSync } from "node:fs";
import path from "node:path";

import { CONFIGURATION_DOC, configurationTable } from "../../scripts/config-table";

// The documented configuration table is the catalogue in platform/config.ts, printed: a variable
// added, renamed or given another default without updating docs/configuration.md fails here.
test("the configuration table in docs/configuration.md matches platform/config.ts", () => {
  const doc = readFileSync(path.join(__dirname, "..", "..", CONFIGURATION_DOC), "utf8");
  const start = doc.indexOf("| variable ");
  expect(start).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf("\n\n", start);
  const table = doc.slice(start, end === -1 ? undefined : end).trimEnd();
  const normalise = (text: string) =>
    text
      .split("\n")
      .map((row) => row.replace(/\s*\|\s*/g, "|").replace(/-{3,}/g, "---"))
      .join("\n");
  expect(normalise(table)).toBe(normalise(configurationTable()));
});

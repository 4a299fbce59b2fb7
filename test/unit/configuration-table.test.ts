import { readFileSync } from "node:fs";
import path from "node:path";
import { configurationTable } from "../../scripts/config-table";

// The README's configuration table is the catalogue in platform/config.ts, printed: a variable
// added, renamed or given another default without updating the README fails here.
test("the README's configuration table matches platform/config.ts", () => {
  const readme = readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
  const start = readme.indexOf("| variable ");
  const table = readme.slice(start, readme.indexOf("\n\n", start));
  const normalise = (text: string) =>
    text
      .split("\n")
      .map((row) => row.replace(/\s*\|\s*/g, "|").replace(/-{3,}/g, "---"))
      .join("\n");
  expect(normalise(table)).toBe(normalise(configurationTable()));
});

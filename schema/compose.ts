import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SCHEMA_DIR } from "../platform/paths";
import { composeFromCode, validateOperations } from "./pipeline";

/**
 * `npm run schema:compose` writes schema/*.graphql from the code; `npm run schema:check` (--check)
 * writes nothing and fails when a committed file is stale, composition fails or an operation breaks.
 */
function main(): number {
  const check = process.argv.includes("--check");
  const composed = composeFromCode();
  if ("errors" in composed) {
    console.error(`Composition failed:\n${composed.errors.map((e) => `  - ${e}`).join("\n")}`);
    return 1;
  }
  const stale: string[] = [];
  for (const [file, content] of Object.entries(composed.files)) {
    const target = path.join(SCHEMA_DIR, file);
    const current = existsSync(target) ? readFileSync(target, "utf8") : null;
    if (current === content) continue;
    if (check) stale.push(file);
    else writeFileSync(target, content);
  }
  const broken = validateOperations(composed.apiSchema);
  if (broken.length > 0)
    console.error(`Client operations no longer validate:\n${broken.map((p) => `  - ${p}`).join("\n")}`);
  if (stale.length > 0)
    console.error(`Stale schema files (run npm run schema:compose and commit): ${stale.join(", ")}`);
  if (broken.length === 0 && stale.length === 0) console.log(check ? "schema is current" : "schema composed");
  return broken.length > 0 || stale.length > 0 ? 1 : 0;
}

process.exitCode = main();

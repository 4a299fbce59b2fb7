import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { PROJECT_ROOT, SCHEMA_DIR } from "../../platform/paths";
import { syncEventCatalogue } from "./events/sync";
import { composeFromCode, validateOperations } from "./pipeline";

/** The copy Kubernetes ships as the `supergraph` ConfigMap: kustomize reads files only below its own folder. */
const KUBERNETES_SUPERGRAPH = path.join(PROJECT_ROOT, "kubernetes", "base", "supergraph.graphql");

/**
 * `npm run schema:compose` writes schema/*.graphql (and the supergraph's copy in kubernetes/base/) and
 * the event catalogue (schema/events/, schema/events.md) from the code; `npm run check:schema` (--check) writes nothing and fails when a
 * committed file is stale, composition fails, an operation breaks or an event contract is broken.
 */
function main(): number {
  const check = process.argv.includes("--check");
  const graphql = composeGraphql(check);
  const events = eventCatalogue(check);
  return graphql || events;
}

function composeGraphql(check: boolean): number {
  const composed = composeFromCode();
  if ("errors" in composed) {
    console.error(`Composition failed:\n${composed.errors.map((e) => `  - ${e}`).join("\n")}`);
    return 1;
  }
  const stale: string[] = [];
  const targets = Object.entries(composed.files).map(([file, content]) => ({
    target: path.join(SCHEMA_DIR, file),
    content,
  }));
  const supergraph = composed.files["supergraph.graphql"];
  if (supergraph !== undefined) targets.push({ target: KUBERNETES_SUPERGRAPH, content: supergraph });
  for (const { target, content } of targets) {
    const current = existsSync(target) ? readFileSync(target, "utf8") : null;
    if (current === content) continue;
    if (check) stale.push(path.relative(PROJECT_ROOT, target));
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

/** The event catalogue: contract files are never overwritten incompatibly (events/sync.ts). */
function eventCatalogue(check: boolean): number {
  const { errors, stale, written } = syncEventCatalogue({ check });
  if (errors.length > 0) console.error(`Event catalogue:\n${errors.map((e) => `  - ${e}`).join("\n")}`);
  if (stale.length > 0)
    console.error(`Stale event catalogue files (run npm run schema:compose and commit): ${stale.join(", ")}`);
  if (errors.length > 0 || stale.length > 0) return 1;
  if (check) console.log("event catalogue is current");
  else
    console.log(
      written.length > 0 ? `event catalogue written: ${written.join(", ")}` : "event catalogue unchanged",
    );
  return 0;
}

process.exitCode = main();

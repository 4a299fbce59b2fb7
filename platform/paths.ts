import { existsSync } from "node:fs";
import path from "node:path";

/** The checkout (or image) root: the nearest folder above this file with a package.json. Same in src and dist. */
function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findProjectRoot(__dirname);
export const SCHEMA_DIR = path.join(PROJECT_ROOT, "schema");
export const SUPERGRAPH_PATH = path.join(SCHEMA_DIR, "supergraph.graphql");
/** Where codegen writes the persisted-documents manifest of schema/operations (codegen.ts). */
export const PERSISTED_DOCUMENTS_PATH = path.join(SCHEMA_DIR, "generated", "persisted-documents.json");

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { type DocumentNode, print } from "graphql";

import { operationDocuments } from "../../../router/operation-measures";
import { CheckUsageError, type Location } from "./report";

/**
 * The operations clients are known to send: the repository's own (`schema/operations/*.graphql`)
 * and the persisted-operation manifest of every earlier release (`schema/releases/<version>/
 * persisted-documents.json`), since clients of an older release still send its operations. An
 * operation several sources hold in the same text is checked once and names every source.
 */
export const OPERATIONS_DIR = "schema/operations";
export const RELEASES_DIR = "schema/releases";
export const CURRENT_MANIFEST = "schema/generated/persisted-documents.json";
export const MANIFEST_NAME = "persisted-documents.json";

export interface KnownOperation {
  name: string;
  document: DocumentNode;
  /** Where clients get it from: `schema/operations/user.graphql`, `release 0.1.0`. */
  uses: { name: string; source: string }[];
  location: Location;
}

export interface KnownOperations {
  operations: KnownOperation[];
  /** The repository's operation files, repository-relative. */
  files: string[];
  releases: string[];
}

export function loadKnownOperations(root: string): KnownOperations {
  const byText = new Map<string, KnownOperation>();
  const add = (name: string, document: DocumentNode, source: string, location: Location) => {
    const text = print(document);
    const known = byText.get(text);
    if (known) known.uses.push({ name, source });
    else byText.set(text, { name, document, uses: [{ name, source }], location });
  };

  const files = listDir(root, OPERATIONS_DIR)
    .filter((file) => file.endsWith(".graphql"))
    .map((file) => `${OPERATIONS_DIR}/${file}`);
  for (const relative of files) {
    for (const { name, document } of documentsOf(readFileSync(path.join(root, relative), "utf8"), relative)) {
      const line = document.definitions[0]?.loc?.startToken.line;
      add(name, document, relative, { file: relative, ...(line ? { line } : {}) });
    }
  }

  const releases = listDir(root, RELEASES_DIR).filter((version) =>
    existsSync(path.join(root, RELEASES_DIR, version, MANIFEST_NAME)),
  );
  for (const version of releases) {
    const relative = `${RELEASES_DIR}/${version}/${MANIFEST_NAME}`;
    const text = readFileSync(path.join(root, relative), "utf8");
    for (const [hash, body] of Object.entries(parseManifest(text, relative))) {
      const line = text.slice(0, text.indexOf(`"${hash}"`)).split("\n").length;
      for (const { name, document } of documentsOf(body, `${relative} (${hash})`))
        add(name, document, `release ${version}`, { file: relative, line });
    }
  }
  return { operations: [...byText.values()], files, releases };
}

function listDir(root: string, dir: string): string[] {
  const absolute = path.join(root, dir);
  return existsSync(absolute) ? readdirSync(absolute).sort() : [];
}

function documentsOf(source: string, where: string) {
  try {
    return operationDocuments(source);
  } catch (error) {
    throw new CheckUsageError(`${where} does not parse: ${(error as Error).message}`);
  }
}

/** A persisted-documents manifest: `{ "<sha256>": "<document>" }`, as codegen writes it. */
function parseManifest(text: string, file: string): Record<string, string> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new CheckUsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
  const valid =
    typeof manifest === "object" &&
    manifest !== null &&
    !Array.isArray(manifest) &&
    Object.values(manifest).every((body) => typeof body === "string");
  if (!valid) throw new CheckUsageError(`${file} is not a persisted-documents manifest (hash → document)`);
  return manifest as Record<string, string>;
}

const VERSION = /^\d+\.\d+\.\d+(?:[-+][\w.-]+)?$/;

/**
 * Keeps the current manifest as release `version`'s (`npm run schema:release` when a release is
 * cut): from then on the check validates those operations against every later schema. A release's
 * manifest never changes once recorded.
 */
export function snapshotRelease(root: string, version: string): { file: string; created: boolean } {
  if (!VERSION.test(version)) throw new CheckUsageError(`"${version}" is not a release version (e.g. 1.2.0)`);
  const current = path.join(root, CURRENT_MANIFEST);
  if (!existsSync(current)) throw new CheckUsageError(`${CURRENT_MANIFEST} is missing: run npm run codegen`);
  const content = readFileSync(current, "utf8");
  parseManifest(content, CURRENT_MANIFEST);
  const file = `${RELEASES_DIR}/${version}/${MANIFEST_NAME}`;
  const target = path.join(root, file);
  if (existsSync(target)) {
    if (readFileSync(target, "utf8") === content) return { file, created: false };
    throw new CheckUsageError(
      `${file} already records release ${version} with other operations: a release's manifest does not change; bump the version`,
    );
  }
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, content);
  return { file, created: true };
}

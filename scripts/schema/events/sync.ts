import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { SCHEMA_DIR } from "../../../platform/paths";
import {
  type CatalogueSource,
  collectEventCatalogue,
  EVENTS_DIR_NAME,
  EVENTS_DOC_NAME,
  eventSchemaPath,
} from "./catalogue";
import { compatibilityProblems } from "./compatibility";
import type { JsonSchema } from "./json-schema";
import { renderEventsMarkdown } from "./markdown";

export interface CatalogueSync {
  /** Problems that no regeneration fixes: each names its event. */
  errors: string[];
  /** Files (relative to schema/) that differ from the code; only in check mode. */
  stale: string[];
  /** Files (relative to schema/) written; only in write mode. */
  written: string[];
}

/**
 * Compares the catalogue generated from code with the files under `schemaDir`: in check mode it
 * reports what is stale, otherwise it writes it. Either way a committed contract file is never
 * replaced by an incompatible schema, never deleted, and nothing is written while errors remain.
 */
export function syncEventCatalogue(
  options: { check: boolean; schemaDir?: string; subgraphs?: Record<string, CatalogueSource> } = {
    check: true,
  },
): CatalogueSync {
  const schemaDir = options.schemaDir ?? SCHEMA_DIR;
  const { events, errors } = collectEventCatalogue(options.subgraphs);
  const eventsDir = path.join(schemaDir, EVENTS_DIR_NAME);
  const committed = existsSync(eventsDir)
    ? readdirSync(eventsDir)
        .filter((file) => file.endsWith(".json"))
        .sort()
    : [];

  const files: Record<string, string> = {};
  for (const event of events) {
    const file = eventSchemaPath(event.type, event.version);
    const content = `${JSON.stringify(event.schema, null, 2)}\n`;
    const target = path.join(schemaDir, file);
    if (existsSync(target)) {
      let contract: JsonSchema;
      try {
        contract = JSON.parse(readFileSync(target, "utf8")) as JsonSchema;
      } catch (error) {
        errors.push(
          `${event.type} v${event.version}: schema/${file} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
        );
        continue;
      }
      const problems = compatibilityProblems(contract, event.schema);
      if (problems.length > 0) {
        errors.push(
          `${event.type} v${event.version}: the payload changed incompatibly with its committed contract schema/${file}:\n` +
            problems.map((p) => `      ${p}`).join("\n") +
            `\n    Keep v${event.version} as it is and publish the change as a new version (defineEvent("${event.type}", ${event.version + 1}, ...)).`,
        );
        continue;
      }
    }
    files[file] = content;
  }

  const generated = new Set(events.map((event) => path.basename(eventSchemaPath(event.type, event.version))));
  for (const file of committed) {
    if (generated.has(file)) continue;
    errors.push(
      `schema/${EVENTS_DIR_NAME}/${file}: no subgraph publishes this event version any more. Consumers may still rely on it: ` +
        `keep its definition in a publishes list, or retire it by deleting the file in the same change.`,
    );
  }

  files[EVENTS_DOC_NAME] = renderEventsMarkdown(events);
  const result: CatalogueSync = { errors, stale: [], written: [] };
  if (errors.length > 0) return result;
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(schemaDir, file);
    const current = existsSync(target) ? readFileSync(target, "utf8") : null;
    if (current === content) continue;
    if (options.check) result.stale.push(file);
    else {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, content);
      result.written.push(file);
    }
  }
  return result;
}

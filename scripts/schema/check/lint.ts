import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { buildSubgraphSchema } from "@apollo/subgraph";
import { ESLint, type Linter } from "eslint";
import {
  buildSchema,
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  parse,
  printSchema,
} from "graphql";

import { SUBGRAPH_NAMES } from "../../../platform/config";
import { PROJECT_ROOT, SCHEMA_DIR } from "../../../platform/paths";
import { offsetOf, operationCoordinateAt, sdlCoordinateAt } from "./lint-coordinates";
import type { Finding } from "./report";

/** A GraphQL file to lint: its repository-relative path (what it is, or would be, on disk) and text. */
export interface GraphqlFile {
  path: string;
  text: string;
}

const OPERATIONS_DIR = "schema/operations";

/** The subgraph whose SDL `file` is (schema/<subgraph>.graphql), if it is one. */
function subgraphOf(file: string): string | undefined {
  const match = /^schema\/([^/]+)\.graphql$/.exec(file);
  return match && (SUBGRAPH_NAMES as readonly string[]).includes(match[1]!) ? match[1] : undefined;
}

/**
 * The repository's shared ESLint config, the one `npm run check:lint` runs. ESLint would load it
 * with import(), which jest cannot run without experimental flags; it is CommonJS, so require it.
 */
function sharedConfig(): Linter.Config[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(PROJECT_ROOT, "eslint.config.cjs")) as Linter.Config[];
}

/**
 * The shared config lints a subgraph's SDL against the file on disk (graphql-config points at it,
 * and the plugin caches it). A proposed SDL must be linted against itself, or a type reachable only
 * through a new field reads as unreachable: `schemaSdl` (the plugin's programmatic parser option)
 * gives it the schema built from the text, as @apollo/subgraph builds it.
 */
function ownSchemaFor(file: GraphqlFile): Linter.Config {
  const schemaSdl = printSchema(buildSubgraphSchema(parse(file.text)));
  return { files: [file.path], languageOptions: { parserOptions: { schemaSdl } } };
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Where a syntax error is, when the error says (a schema that parses but does not build has no place). */
function syntaxErrorPosition(error: unknown): { line: number; column: number } | undefined {
  const location = error instanceof GraphQLError ? error.locations?.[0] : undefined;
  return location && { line: location.line, column: location.column };
}

/**
 * Lints subgraph SDL and client operations with the shared ESLint config, as if each file were at
 * its path: a proposed SDL for a subgraph (not on disk) is linted as schema/<subgraph>.graphql.
 * Operations are checked against the API schema on disk (schema/api.graphql).
 */
export async function lintGraphql(files: GraphqlFile[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const overrides: Linter.Config[] = [];
  const linted: GraphqlFile[] = [];
  for (const file of files) {
    const subgraph = subgraphOf(file.path);
    if (subgraph) {
      try {
        overrides.push(ownSchemaFor(file));
      } catch (error) {
        // Composition reports the details; linting it against another schema would mislead.
        findings.push({
          step: "lint",
          level: "error",
          kind: "invalid-sdl",
          subgraph,
          message: `${file.path} is not a valid subgraph schema, so it was not linted: ${errorMessage(error)}`,
          location: { file: file.path, ...syntaxErrorPosition(error) },
        });
        continue;
      }
    }
    linted.push(file);
  }
  const eslint = new ESLint({
    cwd: PROJECT_ROOT,
    overrideConfigFile: true,
    overrideConfig: [...sharedConfig(), ...overrides],
  });
  const locate = coordinateLocator();
  for (const file of linted) {
    const [result] = await eslint.lintText(file.text, { filePath: path.join(PROJECT_ROOT, file.path) });
    for (const message of result?.messages ?? []) findings.push(toFinding(file, message, locate));
  }
  return findings;
}

type CoordinateLocator = (file: GraphqlFile, line: number, column: number) => string | undefined;

/** Finds coordinates in SDL and operations, parsing each file (and the API schema) once. */
function coordinateLocator(): CoordinateLocator {
  const documents = new Map<string, DocumentNode | null>();
  let apiSchema: GraphQLSchema | undefined;
  const documentOf = (file: GraphqlFile) => {
    if (!documents.has(file.path)) {
      try {
        documents.set(file.path, parse(file.text));
      } catch {
        documents.set(file.path, null);
      }
    }
    return documents.get(file.path);
  };
  return (file, line, column) => {
    const document = documentOf(file);
    if (!document) return undefined;
    const offset = offsetOf(file.text, line, column);
    if (subgraphOf(file.path)) return sdlCoordinateAt(document, offset);
    if (!file.path.startsWith(`${OPERATIONS_DIR}/`)) return undefined;
    apiSchema ??= buildSchema(readFileSync(path.join(SCHEMA_DIR, "api.graphql"), "utf8"));
    return operationCoordinateAt(apiSchema, document, offset);
  };
}

function toFinding(file: GraphqlFile, message: Linter.LintMessage, locate: CoordinateLocator): Finding {
  const coordinate = message.line ? locate(file, message.line, message.column) : undefined;
  const subgraph = subgraphOf(file.path);
  return {
    step: "lint",
    level: message.severity === 2 ? "error" : "warning",
    // A message without a rule is ESLint's own: the file does not parse, or no config covers it.
    kind: message.ruleId ?? (message.fatal ? "parse-error" : "eslint"),
    ...(coordinate && { coordinate }),
    ...(subgraph && { subgraph }),
    message: message.message,
    location: { file: file.path, ...(message.line && { line: message.line, column: message.column }) },
  };
}

/** What `npm run check:lint` lints of GraphQL: every subgraph's SDL and the client operations. */
export function repositoryGraphqlFiles(root = PROJECT_ROOT): GraphqlFile[] {
  const read = (file: string) => ({ path: file, text: readFileSync(path.join(root, file), "utf8") });
  const operations = readdirSync(path.join(root, OPERATIONS_DIR))
    .filter((name) => name.endsWith(".graphql"))
    .sort()
    .map((name) => `${OPERATIONS_DIR}/${name}`);
  return [...SUBGRAPH_NAMES.map((name) => `schema/${name}.graphql`), ...operations].map(read);
}

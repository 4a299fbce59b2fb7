import { buildSchema, type GraphQLSchema } from "graphql";

import { diffApi } from "./api-diff";
import { composeSubgraphs } from "./composition";
import { CheckUsageError, type Finding, type Level } from "./report";
import { commitOf, fileAt, git, parseSubgraph, subgraphsAt } from "./sources";

/**
 * `orion schema log [<from>..<to>]`: every API change between two refs, classified, as Markdown
 * for release notes. The API at a ref is its committed schema/api.graphql (generated and checked
 * at every commit); a ref from before that file existed is composed from its subgraphs' SDL.
 * Default range: the last tag (before HEAD, when HEAD is tagged) or else HEAD~1, to HEAD.
 */
const SECTIONS: [Level, string][] = [
  ["breaking", "Breaking"],
  ["dangerous", "Dangerous"],
  ["safe", "Safe"],
];

export async function schemaLog(root: string, range?: string): Promise<string> {
  const [fromRef, toRef] = parseRange(root, range);
  const from = resolve(root, fromRef);
  const to = resolve(root, toRef);
  const findings = await diffApi(apiAt(root, fromRef, from), apiAt(root, toRef, to), () => ({}));
  const lines = [`## API changes from ${fromRef} (${from.slice(0, 7)}) to ${toRef} (${to.slice(0, 7)})`, ""];
  if (findings.length === 0) lines.push("No API changes.", "");
  for (const [level, title] of SECTIONS) {
    const members = findings.filter((finding) => finding.level === level);
    if (members.length === 0) continue;
    lines.push(`### ${title} (${members.length})`, "", ...members.map(item), "");
  }
  return lines.join("\n");
}

function item(finding: Finding): string {
  const text = finding.message.replace(/\s+/g, " ").replace(/[<>]/g, (c) => (c === "<" ? "&lt;" : "&gt;"));
  return finding.coordinate ? `- \`${finding.coordinate}\`: ${text}` : `- ${text}`;
}

function parseRange(root: string, range: string | undefined): [string, string] {
  if (range === undefined) return [lastTag(root) ?? "HEAD~1", "HEAD"];
  const [from, to, ...rest] = range.split("..");
  if (rest.length > 0 || !from)
    throw new CheckUsageError(`"${range}" is not a range: <from>..<to>, or <from> (to HEAD)`);
  return [from, to || "HEAD"];
}

function lastTag(root: string): string | undefined {
  const tag = git(root, ["describe", "--tags", "--abbrev=0", "HEAD"])?.trim();
  if (!tag || commitOf(root, tag) !== commitOf(root, "HEAD")) return tag || undefined;
  return git(root, ["describe", "--tags", "--abbrev=0", "HEAD~1"])?.trim() || undefined;
}

function resolve(root: string, ref: string): string {
  const commit = commitOf(root, ref);
  if (!commit) throw new CheckUsageError(`ref "${ref}" does not exist in this repository`);
  return commit;
}

function apiAt(root: string, ref: string, commit: string): GraphQLSchema {
  const api = fileAt(root, commit, "schema/api.graphql");
  if (api !== undefined) return buildSchema(api);
  const subgraphs = subgraphsAt(root, commit).map(parseSubgraph);
  const composed = subgraphs.length > 0 ? composeSubgraphs(subgraphs).apiSchema : undefined;
  if (!composed)
    throw new CheckUsageError(
      `no API schema at ${ref}: no schema/api.graphql and no subgraph SDL that composes`,
    );
  return composed;
}

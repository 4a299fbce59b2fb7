import { PROJECT_ROOT } from "../../platform/paths";
import { type CheckInput, checkSchemas } from "../../scripts/schema/check";
import { type KnownOperations, loadKnownOperations } from "../../scripts/schema/check/known-operations";
import type { CheckReport, Finding, StepName } from "../../scripts/schema/check/report";
import { type SubgraphSdl, workingTreeSubgraphs } from "../../scripts/schema/check/sources";

/*
 * Proposed changes to this repository's own subgraph SDL, made with string edits and checked by
 * the engine (checkSchemas) against the repository's known operations (schema/operations and the
 * release manifests): the fixtures of the schema check tests.
 */

export type Edit = [subgraph: string, from: string | RegExp, to: string];

/** Profile.bio with its description (the subgraph SDL describes every field, as lint requires). */
export const PROFILE_BIO = /\n {2}"""A short text[^"]*"""\n {2}bio: String\n/;
/** A new optional field, described. */
export const WITH_PRONOUNS =
  '  bio: String\n\n  """The words others use for the user"""\n  pronouns: String\n';

export function setup() {
  const working = workingTreeSubgraphs(PROJECT_ROOT);
  const known = loadKnownOperations(PROJECT_ROOT);
  /** The working tree's subgraphs with the edits made; an edit that matches nothing fails the test. */
  const edited = (edits: Edit[], subgraphs: SubgraphSdl[] = working): SubgraphSdl[] =>
    subgraphs.map((subgraph) => {
      let sdl = subgraph.sdl;
      for (const [name, from, to] of edits) {
        if (name !== subgraph.name) continue;
        const next = sdl.replace(from, to);
        if (next === sdl) throw new Error(`fixture edit ${String(from)} matches nothing in ${name}`);
        sdl = next;
      }
      return { ...subgraph, sdl };
    });
  const check = (
    edits: Edit[],
    options: { baseEdits?: Edit[]; operations?: KnownOperations } & Partial<CheckInput> = {},
  ): Promise<CheckReport> => {
    const base = edited(options.baseEdits ?? []);
    return checkSchemas({
      base: { label: "base", subgraphs: base },
      head: { label: "proposed", subgraphs: edited(edits, base) },
      operations: options.operations ?? known,
      events: false,
      ...options,
    });
  };
  return { check, known };
}

export const findingsOf = (report: CheckReport, step?: StepName): Finding[] =>
  report.steps.filter((s) => !step || s.step === step).flatMap((s) => s.findings);
export const byId = (report: CheckReport, id: string) =>
  findingsOf(report).find((finding) => finding.id === id);
export const usedByNames = (finding: Finding | undefined) =>
  finding?.usedBy?.operations.map((operation) => `${operation.name} (${operation.source})`);

/** A union for the union fixtures: the repository has none. */
export const WITH_SEARCH: Edit[] = [
  [
    "user",
    "type Query {",
    "union SearchResult = User | Profile\n\ntype Query {\n  search(term: String!): [SearchResult!]!\n",
  ],
];

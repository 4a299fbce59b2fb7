import { readFileSync } from "node:fs";
import path from "node:path";

import { PROJECT_ROOT } from "../../../platform/paths";
import { parseUsageFile, type UsageFile, UsageFileError } from "../../../router/usage/usage-file";
import { diffApi } from "./api-diff";
import { applyApprovals, type Approval, loadApprovals } from "./approvals";
import { composeSubgraphs } from "./composition";
import type * as Events from "./events";
import { diffFederationDirectives } from "./federation-diff";
import { type KnownOperations, loadKnownOperations } from "./known-operations";
import type * as Lint from "./lint";
import { checkOperations, type Locate } from "./operations";
import { type CheckReport, CheckUsageError, fails, type StepResult, stepResult } from "./report";
import { buildSdlIndex, declarationOf } from "./sdl-index";
import {
  parseSubgraph,
  resolveBase,
  subgraphFile,
  subgraphsAt,
  type SubgraphSdl,
  withProposedSdl,
  workingTreeSubgraphs,
} from "./sources";
import { buildUsageIndex } from "./usage-touches";

/*
 * `orion schema check`: composition, API diff, operations, lint and events, each a step of one
 * CheckReport (report.ts) that the reporters render. runCheck reads the repository (git, files);
 * checkSchemas is the engine on given SDL, what the fixture tests call.
 */

/* eslint-disable @typescript-eslint/no-require-imports -- the event check loads every subgraph's
   code and the linter loads ESLint: only when those steps run. */
const loadEvents = () => require("./events") as typeof Events;
const loadLint = () => require("./lint") as typeof Lint;
/* eslint-enable @typescript-eslint/no-require-imports */

export interface CheckInput {
  base: { label: string; subgraphs: SubgraphSdl[] };
  head: { label: string; subgraphs: SubgraphSdl[] };
  operations: KnownOperations;
  usage?: UsageFile;
  approvals?: Approval[];
  /** Files for the lint step (repository-relative paths); the step is skipped without them. */
  lintFiles?: { path: string; text: string }[];
  /** The event contract check reads the working tree's code: off for proposed SDL in tests. */
  events?: boolean;
}

export async function checkSchemas(input: CheckInput): Promise<CheckReport> {
  const base = input.base.subgraphs.map(parseSubgraph);
  const head = input.head.subgraphs.map(parseSubgraph);
  const changed = new Set(
    head
      .filter((subgraph) => base.find((old) => old.name === subgraph.name)?.sdl !== subgraph.sdl)
      .map((subgraph) => subgraph.name),
  );
  const headIndex = buildSdlIndex(head);
  const baseIndex = buildSdlIndex(base);
  const locate: Locate = (coordinate) => {
    const declaration =
      declarationOf(headIndex, coordinate, changed) ?? declarationOf(baseIndex, coordinate, changed);
    return declaration ? { subgraph: declaration.subgraph, location: declaration.location } : {};
  };

  const composition = composeSubgraphs(head, changed);
  const newApi = composition.apiSchema;
  const oldApi = base.length > 0 ? composeSubgraphs(base).apiSchema : undefined;
  const steps: StepResult[] = [
    stepResult(
      "composition",
      newApi ? `${head.length} subgraphs composed` : `${head.length} subgraphs do not compose`,
      composition.findings,
    ),
  ];

  if (!newApi) steps.push(skipped("diff", "composition failed: no API schema to compare"));
  else if (!oldApi)
    steps.push(skipped("diff", `the base (${input.base.label}) has no subgraphs that compose`));
  else {
    const usage = buildUsageIndex(oldApi, input.operations.operations, input.usage);
    const api = await diffApi(oldApi, newApi, locate, usage);
    const federation = diffFederationDirectives(base, head, (subgraph, element) => {
      const declaration = declarationOf(headIndex, element, new Set([subgraph]));
      return declaration?.subgraph === subgraph ? declaration.location : undefined;
    });
    steps.push(
      stepResult("diff", `${api.length} API changes, ${federation.length} federation directive changes`, [
        ...api,
        ...federation,
      ]),
    );
  }

  steps.push(
    newApi
      ? checkOperations(newApi, input.operations, input.usage, locate, oldApi)
      : skipped("operations", "composition failed: no API schema to check operations against"),
  );
  steps.push(await lintStep(input.lintFiles));
  steps.push(
    input.events === false ? skipped("events", "not run for this input") : loadEvents().checkEvents(),
  );

  const staleApprovals = applyApprovals(steps, input.approvals ?? []);
  // Approvals turn failing findings into passing ones: each status again.
  const final = steps.map((step) =>
    step.status === "skipped" ? step : stepResult(step.step, step.summary, step.findings),
  );
  return {
    base: input.base.label,
    head: input.head.label,
    steps: final,
    staleApprovals,
    exitCode: final.some((step) => step.findings.some(fails)) ? 1 : 0,
  };
}

function skipped(step: StepResult["step"], summary: string): StepResult {
  return { step, status: "skipped", summary, findings: [] };
}

async function lintStep(files: CheckInput["lintFiles"]): Promise<StepResult> {
  if (!files) return skipped("lint", "not run for this input");
  const findings = await loadLint().lintGraphql(files);
  return stepResult("lint", `${files.length} files linted`, findings);
}

export interface CheckOptions {
  /** The repository (default: this checkout). */
  root?: string;
  base?: string;
  subgraph?: string;
  sdl?: string;
  usage?: string;
  /** Default: schema/approvals.json. */
  approvals?: string;
  events?: boolean;
}

/** The check as the CLI runs it: bad input throws CheckUsageError (exit 2), with one line. */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const root = options.root ?? PROJECT_ROOT;
  if ((options.subgraph === undefined) !== (options.sdl === undefined))
    throw new CheckUsageError(
      "--subgraph and --sdl go together: the subgraph's name and its proposed SDL file",
    );
  if (options.subgraph !== undefined && options.base !== undefined)
    throw new CheckUsageError(
      "--base compares the working tree with a ref, --subgraph/--sdl a proposed SDL with the working tree: one or the other",
    );
  const usage = options.usage === undefined ? undefined : readUsage(options.usage);
  const approvals = loadApprovals(root, options.approvals);
  const working = workingTreeSubgraphs(root);
  let base: CheckInput["base"];
  let head: CheckInput["head"];
  if (options.subgraph !== undefined) {
    base = { label: "working tree", subgraphs: working };
    head = {
      label: `subgraph ${options.subgraph} from ${options.sdl}`,
      subgraphs: withProposedSdl(root, working, options.subgraph, options.sdl!),
    };
  } else {
    const ref = resolveBase(root, options.base);
    base = { label: ref.label, subgraphs: subgraphsAt(root, ref.commit) };
    head = { label: "working tree", subgraphs: working };
  }
  const operations = loadKnownOperations(root);
  return checkSchemas({
    base,
    head,
    operations,
    usage,
    approvals,
    lintFiles: lintFiles(root, head.subgraphs, operations),
    events: options.events,
  });
}

function readUsage(file: string): UsageFile {
  let text: string;
  try {
    text = readFileSync(path.resolve(file), "utf8");
  } catch (error) {
    throw new CheckUsageError(`cannot read the usage file ${file}: ${(error as NodeJS.ErrnoException).code}`);
  }
  try {
    return parseUsageFile(text, file);
  } catch (error) {
    if (error instanceof UsageFileError) throw new CheckUsageError(error.message);
    throw error;
  }
}

/** Every subgraph's SDL (a proposed one linted as the file it replaces) and the operation files. */
function lintFiles(root: string, subgraphs: SubgraphSdl[], operations: KnownOperations) {
  return [
    ...subgraphs.map((subgraph) => ({ path: subgraphFile(subgraph.name), text: subgraph.sdl })),
    ...operations.files.map((file) => ({ path: file, text: readFileSync(path.join(root, file), "utf8") })),
  ];
}

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { type Command, Option } from "commander";

import { PROJECT_ROOT } from "../platform/paths";
import type * as Check from "../scripts/schema/check";
import type * as KnownOperations from "../scripts/schema/check/known-operations";
import type * as Log from "../scripts/schema/check/log";
import type * as Report from "../scripts/schema/check/report";
import type * as Color from "../scripts/schema/check/reporters/color";
import type * as Findings from "../scripts/schema/check/reporters/findings";

/*
 * `orion schema check | log | release` (docs/schema-checks.md). Exit codes: 0 nothing breaks, 1
 * something does, 2 bad input: one line on stderr naming the problem, never a stack.
 */

/* eslint-disable @typescript-eslint/no-require-imports -- the schema tooling (composition, the
   inspector, every subgraph's code for the event check) loads only for these commands. */
const loadCheck = () => require("../scripts/schema/check") as typeof Check;
const loadLog = () => require("../scripts/schema/check/log") as typeof Log;
const loadKnownOperations = () =>
  require("../scripts/schema/check/known-operations") as typeof KnownOperations;
const loadReport = () => require("../scripts/schema/check/report") as typeof Report;
const loadColor = () => require("../scripts/schema/check/reporters/color") as typeof Color;
const loadFindings = () => require("../scripts/schema/check/reporters/findings") as typeof Findings;
const loadReporter = (format: string) =>
  require(`../scripts/schema/check/reporters/${format}`) as {
    render: (report: Report.CheckReport, options: { color: boolean }) => string;
  };
/* eslint-enable @typescript-eslint/no-require-imports */

const FORMATS = ["text", "markdown", "json", "sarif"] as const;
const USAGE_ERROR = 2;

/** Runs a command; bad input (CheckUsageError) is one line and exit 2, anything else a bug with its stack. */
function run(action: () => Promise<void>): void {
  action().catch((error: unknown) => {
    if (error instanceof loadReport().CheckUsageError) console.error(`error: ${error.message}`);
    else console.error("error: the schema command failed unexpectedly:", error);
    process.exitCode = USAGE_ERROR;
  });
}

/** Writes to --out (and says so in one line) or to stdout. */
function output(text: string, out: string | undefined, summary: string): void {
  const body = text.endsWith("\n") ? text : `${text}\n`;
  if (out === undefined) return void process.stdout.write(body);
  writeFileSync(path.resolve(out), body);
  console.log(`${out}: ${summary}`);
}

interface CheckFlags {
  base?: string;
  subgraph?: string;
  sdl?: string;
  usage?: string;
  approvals?: string;
  format: (typeof FORMATS)[number];
  out?: string;
}

/** Adds `orion schema ...` to the program; returns the `schema` command for further subcommands. */
export function addSchemaCommands(program: Command): Command {
  const schema = program
    .command("schema")
    .description("Schema checks offline, with git as the registry (docs/schema-checks.md)")
    // A mistyped flag is bad input too: exit 2, as the check's own usage errors.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : USAGE_ERROR));

  schema
    .command("check")
    .description(
      "Does a change break a client? Composition, API diff, known operations, lint and event contracts; exit 0 passes, 1 breaks, 2 bad input",
    )
    .option(
      "--base <ref>",
      "git ref to compare the working tree with (default: merge base with main, else HEAD~1)",
    )
    .option(
      "--subgraph <name>",
      "with --sdl: the subgraph whose proposed SDL is checked against the working tree",
    )
    .option("--sdl <file>", "with --subgraph: the proposed SDL file")
    .option("--usage <file>", "usage recorded by the router (orion schema usage export)")
    .option("--approvals <file>", "approved breaking changes (default: schema/approvals.json)")
    .addOption(new Option("--format <format>", "report format").choices(FORMATS).default("text"))
    .option("--out <file>", "write the report to a file instead of stdout")
    .action((flags: CheckFlags) =>
      run(async () => {
        const report = await loadCheck().runCheck(flags);
        const color =
          flags.format === "text" &&
          flags.out === undefined &&
          loadColor().colorEnabled(process.stdout, process.env);
        const { tally, verdict } = loadFindings();
        output(
          loadReporter(flags.format).render(report, { color }),
          flags.out,
          `check ${verdict(report)}, ${tally(report)}`,
        );
        process.exitCode = report.exitCode;
      }),
    );

  schema
    .command("log")
    .argument("[range]", "<from>..<to> git refs (default: the last tag, else HEAD~1, to HEAD)")
    .option("--out <file>", "write the Markdown to a file instead of stdout")
    .description("Every API change between two refs, classified, as Markdown release notes")
    .action((range: string | undefined, flags: { out?: string }) =>
      run(async () => {
        output(await loadLog().schemaLog(PROJECT_ROOT, range), flags.out, "API changelog written");
      }),
    );

  schema
    .command("release")
    .argument("[version]", "the release (default: package.json's version)")
    .description(
      "Keep the current persisted-operation manifest as a release's (schema/releases/<version>/): the check keeps validating its operations",
    )
    .action((version: string | undefined) =>
      run(async () => {
        const release = version ?? packageVersion();
        const { file, created } = loadKnownOperations().snapshotRelease(PROJECT_ROOT, release);
        console.log(created ? `${file} written: commit it` : `${file} already records release ${release}`);
      }),
    );
  return schema;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string })
    .version;
}

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { parse } from "yaml";

import { MARKER } from "../../scripts/schema/check/reporters/markdown";
import { ROOT } from "./support";

// .github/workflows/schema-check.yml, read as GitHub Actions reads it, checked against the
// package's scripts, the CLI's flags, the reporters and docs/schema-checks.md (which shows it).

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | number>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
}

const WORKFLOW_TEXT = readFileSync(join(ROOT, ".github", "workflows", "schema-check.yml"), "utf8");
const CHECK_FLAGS = new Map([
  ["--base", /^"\$BASE"$/],
  ["--format", /^(text|markdown|json|sarif)$/],
  ["--out", /^[\w.-]+$/],
]);

function setup() {
  const workflow = parse(WORKFLOW_TEXT) as Workflow;
  const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
  const commands = steps.flatMap((step) => (step.run ?? "").split("\n").filter((line) => line.trim() !== ""));
  const checks = commands
    .filter((command) => command.includes("schema:check"))
    .map((command) => {
      const args = command.split(" -- ")[1]!.split(" || ")[0]!.trim().split(/\s+/);
      const flags = new Map<string, string>();
      for (let i = 0; i < args.length; i += 2) flags.set(args[i]!, args[i + 1]!);
      return { command, flags };
    });
  const outOf = (format: string) =>
    checks.find((check) => check.flags.get("--format") === format)?.flags.get("--out");
  const step = (uses: string) => steps.find((candidate) => candidate.uses?.startsWith(uses))!;
  return { workflow, steps, commands, checks, outOf, step };
}

describe("the schema check workflow", () => {
  it("runs on pull requests and merge-queue groups with the permissions its comment and upload need", () => {
    const { workflow } = setup();
    expect(Object.keys(workflow.on)).toEqual(["pull_request", "merge_group"]);
    expect(workflow.permissions).toEqual({
      contents: "read",
      "pull-requests": "write",
      "security-events": "write",
    });
  });

  it("checks out the whole history, since the base's SDL is read from git", () => {
    expect(setup().step("actions/checkout@").with).toMatchObject({ "fetch-depth": 0 });
  });

  it("runs only npm scripts that exist, and schema:check only with flags the CLI has", () => {
    const { commands, checks } = setup();
    const scripts = (
      JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    for (const command of commands.filter((line) => /\bnpm run\b/.test(line))) {
      const script = /npm run (?:--silent )?([\w:-]+)/.exec(command)![1]!;
      expect(scripts).toHaveProperty([script]);
    }
    expect(checks.length).toBe(3);
    for (const { flags } of checks) {
      for (const [flag, value] of flags) expect(value).toMatch(CHECK_FLAGS.get(flag) ?? /^$/);
    }
    // The last step is the gate: text in the log, its exit code the job's.
    expect(checks.at(-1)!.flags.has("--format")).toBe(false);
  });

  it("uploads the SARIF file the check wrote", () => {
    const { outOf, step } = setup();
    expect(step("github/codeql-action/upload-sarif@").with?.sarif_file).toBe(outOf("sarif"));
  });

  describe("the pull-request comment", () => {
    const REPORT = `${MARKER}\n## ✅ Schema check passed\n`;
    async function comment(existing: { id: number; body: string; user: { login: string } }[]) {
      const { outOf, step } = setup();
      const calls: [string, Record<string, unknown>][] = [];
      const api = (name: string) => async (params: Record<string, unknown>) =>
        void calls.push([name, params]);
      const github = {
        paginate: async () => existing,
        rest: {
          issues: {
            listComments: api("list"),
            updateComment: api("update"),
            createComment: api("create"),
          },
        },
      };
      const context = { repo: { owner: "acme", repo: "orion" }, issue: { number: 7 } };
      const fakeRequire = (id: string) => {
        expect(id).toBe("fs");
        return {
          readFileSync: (path: string) => {
            expect(path).toBe(outOf("markdown"));
            return REPORT;
          },
        };
      };
      // github-script runs the script as the body of an async function with these in scope.
      const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as FunctionConstructor;
      const script = String(step("actions/github-script@").with?.script);
      await new AsyncFunction("github", "context", "require", script)(github, context, fakeRequire);
      return calls;
    }
    const bot = { login: "github-actions[bot]" };

    it("edits the report comment the workflow wrote before", async () => {
      const calls = await comment([
        { id: 1, body: "LGTM", user: { login: "alice" } },
        { id: 2, body: `${MARKER}\n## ❌ Schema check failed`, user: bot },
      ]);
      expect(calls).toEqual([["update", { owner: "acme", repo: "orion", comment_id: 2, body: REPORT }]]);
    });

    it("adds one when there is none, ignoring the marker pasted by someone else", async () => {
      const calls = await comment([{ id: 3, body: `${MARKER} quoted`, user: { login: "mallory" } }]);
      expect(calls).toEqual([["create", { owner: "acme", repo: "orion", issue_number: 7, body: REPORT }]]);
    });
  });

  it("is the workflow docs/schema-checks.md shows", () => {
    const docs = readFileSync(join(ROOT, "docs", "schema-checks.md"), "utf8");
    const block = /```yaml\n(# orion schema check on every pull request[\s\S]*?)```/.exec(docs);
    expect(block?.[1]).toBe(WORKFLOW_TEXT);
  });
});

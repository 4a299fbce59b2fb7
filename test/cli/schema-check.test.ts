import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { PROJECT_ROOT } from "../../platform/paths";
import { orion } from "../support/cli";
import { PROFILE_BIO, WITH_PRONOUNS } from "../support/schema-check";

/*
 * `orion schema check` as CI runs it: exit 0 when nothing breaks, 1 when something does, 2 for bad
 * input with one line on stderr naming the problem and no stack. Proposed SDL is the repository's
 * own schema/user.graphql with one edit, checked against the working tree (the event and lint
 * steps run too, as in CI).
 */

const USER_SDL = readFileSync(path.join(PROJECT_ROOT, "schema", "user.graphql"), "utf8");

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "orion-schema-check-"));
  const file = (name: string, content: string) => {
    const target = path.join(dir, name);
    writeFileSync(target, content);
    return target;
  };
  const run = async (args: string[]) => {
    const child = orion(["schema", ...args]);
    const code = await child.exited;
    return { code, ...child.output() };
  };
  return { dir, file, run, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("orion schema check", () => {
  it("exits 1 with the breaking change and who uses it when a proposed SDL removes a used field", async () => {
    const { file, run, cleanup } = setup();
    try {
      const sdl = file("user.graphql", USER_SDL.replace(PROFILE_BIO, "\n"));
      const { code, stdout } = await run(["check", "--subgraph", "user", "--sdl", sdl]);
      expect(stdout).toContain("FIELD_REMOVED");
      expect(stdout).toMatch(
        /Profile\.bio .*\n.*\n\s+used by operations Me \(schema\/operations\/user\.graphql\)/,
      );
      expect(stdout).toContain("check failed");
      expect(code).toBe(1);
    } finally {
      cleanup();
    }
  });

  it("exits 0 for a new optional field, and writes the JSON report to --out", async () => {
    const { dir, file, run, cleanup } = setup();
    try {
      const sdl = file("user.graphql", USER_SDL.replace("  bio: String\n", WITH_PRONOUNS));
      const out = path.join(dir, "report.json");
      const started = performance.now();
      const { code, stdout } = await run([
        "check",
        "--subgraph",
        "user",
        "--sdl",
        sdl,
        "--format",
        "json",
        "--out",
        out,
      ]);
      const seconds = (performance.now() - started) / 1000;
      expect(stdout).toMatch(/report\.json: check passed, 1 safe/);
      const report = JSON.parse(readFileSync(out, "utf8")) as {
        exitCode: number;
        steps: { step: string; status: string }[];
      };
      expect(report.exitCode).toBe(0);
      expect(report.steps.find((step) => step.step === "events")?.status).toBe("passed");
      expect(code).toBe(0);
      // The whole check of this repository, every step and the process start included.
      expect(seconds).toBeLessThan(10);
    } finally {
      cleanup();
    }
  });

  describe("bad input: one line naming the problem, exit 2, never a stack", () => {
    const cases: [string, (file: (name: string, content: string) => string) => string[], RegExp][] = [
      [
        "an unknown subgraph",
        (file) => ["--subgraph", "billing", "--sdl", file("x.graphql", USER_SDL)],
        /unknown subgraph "billing": one of auth, user/,
      ],
      [
        "an SDL file that does not parse",
        (file) => ["--subgraph", "user", "--sdl", file("x.graphql", "type User {")],
        /x\.graphql:1:12 \(subgraph user\) does not parse/,
      ],
      [
        "a base ref that does not exist",
        () => ["--base", "no-such-ref"],
        /base ref "no-such-ref" does not exist/,
      ],
      [
        "a malformed usage file",
        (file) => ["--usage", file("usage.json", '{"format":"orion-usage/1"}')],
        /usage\.json is not an orion-usage\/1 file: from/,
      ],
      [
        "a malformed approvals file",
        (file) => [
          "--approvals",
          file("approvals.json", '{"approvals":[{"change":"FIELD_REMOVED:User.email"}]}'),
        ],
        /approvals\.json is malformed: approvals\.0\.reason/,
      ],
      ["--subgraph without --sdl", () => ["--subgraph", "user"], /--subgraph and --sdl go together/],
      ["an unknown format", () => ["--format", "xml"], /argument 'xml' is invalid/],
    ];
    it.each(cases)("%s", async (_name, args, message) => {
      const { file, run, cleanup } = setup();
      try {
        const { code, stdout, stderr } = await run(["check", ...args(file)]);
        expect(stderr.trim()).toMatch(message);
        expect(stderr.trim().split("\n")).toHaveLength(1);
        expect(stdout).toBe("");
        expect(code).toBe(2);
      } finally {
        cleanup();
      }
    });
  });
});

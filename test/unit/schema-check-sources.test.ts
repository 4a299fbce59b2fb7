import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { schemaLog } from "../../scripts/schema/check/log";
import { CheckUsageError } from "../../scripts/schema/check/report";
import { resolveBase, subgraphsAt } from "../../scripts/schema/check/sources";

/*
 * Git is the registry: which base the check compares with when none is given (and that the report
 * says which), the SDL at a ref, and `orion schema log` between two refs, in throw-away repositories.
 */

const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n`;
const USER_V1 = `${LINK}type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String bio: String }\n`;
const USER_V2 = `${LINK}type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String nickname: String }\n`;

function setup(branch = "main") {
  const dirs: string[] = [];
  const repo = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "orion-schema-git-"));
    dirs.push(dir);
    return dir;
  };
  const root = repo();
  const git = (args: string[], cwd = root) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  const commit = (files: Record<string, string>, message: string) => {
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), content);
    }
    git(["add", "-A"]);
    git(["commit", "-qm", message]);
    return git(["rev-parse", "HEAD"]);
  };
  git(["init", "-q", "-b", branch]);
  const first = commit({ "schema/user.graphql": USER_V1 }, "first");
  const second = commit({ "schema/user.graphql": USER_V2 }, "second");
  return {
    root,
    git,
    commit,
    first,
    second,
    repo,
    cleanup: () => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })),
  };
}

describe("the base the check compares with", () => {
  it("on a branch: the merge base with main, whose SDL git holds", () => {
    const { root, git, commit, second, cleanup } = setup();
    try {
      git(["checkout", "-qb", "feature"]);
      commit({ "schema/user.graphql": USER_V1, "schema/auth.graphql": USER_V1 }, "on the branch");
      const base = resolveBase(root);
      expect(base).toEqual({ commit: second, label: `merge base with main (${second.slice(0, 7)})` });
      // auth is new on the branch: absent at the base.
      expect(subgraphsAt(root, base.commit)).toEqual([
        { name: "user", file: "schema/user.graphql", sdl: USER_V2 },
      ]);
    } finally {
      cleanup();
    }
  });

  it("on main itself, or without a main branch: the previous commit, saying why", () => {
    for (const [branch, reason] of [
      ["main", "HEAD is on main"],
      ["trunk", "no main branch"],
    ]) {
      const { root, first, cleanup } = setup(branch);
      try {
        expect(resolveBase(root)).toEqual({
          commit: first,
          label: `HEAD~1 (${first.slice(0, 7)}), the previous commit: ${reason}`,
        });
      } finally {
        cleanup();
      }
    }
  });

  it("in a shallow clone without the previous commit: HEAD, saying so; an unknown ref says to fetch history", () => {
    const { root, git, repo, cleanup } = setup();
    try {
      const clone = repo();
      git(["clone", "-q", "--depth", "1", `file://${root}`, clone]);
      const head = git(["rev-parse", "HEAD"], clone);
      expect(resolveBase(clone).label).toBe(
        `HEAD (${head.slice(0, 7)}): no previous commit (HEAD is on main, shallow clone)`,
      );
      expect(() => resolveBase(clone, "v9")).toThrow(
        new CheckUsageError(
          'base ref "v9" does not exist in this repository (a shallow clone: fetch the history, e.g. fetch-depth: 0)',
        ),
      );
    } finally {
      cleanup();
    }
  });
});

describe("orion schema log", () => {
  it("prints the API changes between two refs as Markdown, classified", async () => {
    const { root, first, second, cleanup } = setup();
    try {
      const log = await schemaLog(root, `${first.slice(0, 7)}..${second.slice(0, 7)}`);
      expect(log).toContain(
        `## API changes from ${first.slice(0, 7)} (${first.slice(0, 7)}) to ${second.slice(0, 7)}`,
      );
      expect(log).toContain(
        "### Breaking (1)\n\n- `User.bio`: Field 'bio' was removed from object type 'User'",
      );
      expect(log).toContain(
        "### Safe (1)\n\n- `User.nickname`: Field 'nickname' was added to object type 'User'",
      );
      // The default range: no tag, so the previous commit to HEAD.
      expect(await schemaLog(root)).toContain("### Breaking (1)");
      await expect(schemaLog(root, "nope..HEAD")).rejects.toThrow('ref "nope" does not exist');
    } finally {
      cleanup();
    }
  });
});

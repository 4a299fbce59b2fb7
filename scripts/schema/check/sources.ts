import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

import { type DocumentNode, parse, Source } from "graphql";

import { SUBGRAPH_NAMES } from "../../../platform/config/services";
import { CheckUsageError } from "./report";

/**
 * Where the check's SDL comes from: git is the registry. The working tree's subgraph SDL is the
 * committed `schema/<subgraph>.graphql`, generated from the code by `npm run schema:compose`;
 * `npm run check:schema` (in `npm run check`) fails when those files do not match the code, so
 * checking them is checking the code. The base's SDL is the same file at a git ref.
 */

/** One subgraph's SDL and the file its lines refer to (repository-relative, or the --sdl path). */
export interface SubgraphSdl {
  name: string;
  file: string;
  sdl: string;
}

/** A subgraph's SDL parsed with its file as the source name, so every node knows where it is. */
export interface ParsedSubgraph extends SubgraphSdl {
  document: DocumentNode;
}

export const subgraphFile = (name: string): string => `schema/${name}.graphql`;

/** A git command's output, or undefined when it fails (an unknown ref, no repository). */
export function git(root: string, args: string[]): string | undefined {
  try {
    return execFileSync("git", args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch {
    return undefined;
  }
}

/** The commit a ref names, or undefined when it names none. */
export function commitOf(root: string, ref: string): string | undefined {
  return git(root, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`])?.trim();
}

/** A file's content at a commit, or undefined when the commit does not hold it. */
export function fileAt(root: string, commit: string, file: string): string | undefined {
  return git(root, ["show", `${commit}:${file}`]);
}

export interface BaseRef {
  commit: string;
  /** What the report says was compared: the ref, its short hash and why it was chosen. */
  label: string;
}

const short = (commit: string) => commit.slice(0, 7);

/**
 * `--base <ref>` as given; by default the merge base with the main branch (`main`, else
 * `origin/main`), or the previous commit when there is no main branch or HEAD is on it (CI on main
 * checks the commit it is given); the label says which and why, shallow clones included.
 */
export function resolveBase(root: string, ref?: string): BaseRef {
  const shallow = git(root, ["rev-parse", "--is-shallow-repository"])?.trim() === "true";
  if (ref !== undefined) {
    const commit = commitOf(root, ref);
    if (!commit) {
      const hint = shallow ? " (a shallow clone: fetch the history, e.g. fetch-depth: 0)" : "";
      throw new CheckUsageError(`base ref "${ref}" does not exist in this repository${hint}`);
    }
    return { commit, label: commit.startsWith(ref) ? short(commit) : `${ref} (${short(commit)})` };
  }
  const head = commitOf(root, "HEAD");
  if (!head) throw new CheckUsageError("not a git repository with a commit: pass --subgraph and --sdl");
  let reason = "no main branch";
  for (const main of ["main", "origin/main"]) {
    if (!commitOf(root, main)) continue;
    const mergeBase = git(root, ["merge-base", "HEAD", main])?.trim();
    if (mergeBase && mergeBase !== head)
      return { commit: mergeBase, label: `merge base with ${main} (${short(mergeBase)})` };
    reason = mergeBase ? `HEAD is on ${main}` : `no merge base with ${main}`;
    break;
  }
  if (shallow) reason += ", shallow clone";
  const previous = commitOf(root, "HEAD~1");
  if (previous)
    return { commit: previous, label: `HEAD~1 (${short(previous)}), the previous commit: ${reason}` };
  return { commit: head, label: `HEAD (${short(head)}): no previous commit (${reason})` };
}

/** The subgraphs at a commit; one absent there is new in the working tree, so it has no base. */
export function subgraphsAt(root: string, commit: string): SubgraphSdl[] {
  return SUBGRAPH_NAMES.flatMap((name) => {
    const sdl = fileAt(root, commit, subgraphFile(name));
    return sdl === undefined ? [] : [{ name, file: subgraphFile(name), sdl }];
  });
}

export function workingTreeSubgraphs(root: string): SubgraphSdl[] {
  return SUBGRAPH_NAMES.flatMap((name) => {
    const file = path.join(root, subgraphFile(name));
    return existsSync(file) ? [{ name, file: subgraphFile(name), sdl: readFileSync(file, "utf8") }] : [];
  });
}

/** `--subgraph <name> --sdl <file>`: the working tree's subgraphs with that one replaced. */
export function withProposedSdl(root: string, subgraphs: SubgraphSdl[], name: string, sdlPath: string) {
  if (!(SUBGRAPH_NAMES as readonly string[]).includes(name))
    throw new CheckUsageError(`unknown subgraph "${name}": one of ${SUBGRAPH_NAMES.join(", ")}`);
  const absolute = path.resolve(sdlPath);
  let sdl: string;
  try {
    sdl = readFileSync(absolute, "utf8");
  } catch (error) {
    throw new CheckUsageError(
      `cannot read the SDL file ${sdlPath}: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  const relative = path.relative(root, absolute);
  const file = relative.startsWith("..") || path.isAbsolute(relative) ? sdlPath : relative;
  const proposed = { name, file, sdl };
  parseSubgraph(proposed);
  return [...subgraphs.filter((subgraph) => subgraph.name !== name), proposed].sort(
    (a, b) => SUBGRAPH_NAMES.indexOf(a.name as never) - SUBGRAPH_NAMES.indexOf(b.name as never),
  );
}

/** SDL that does not parse is bad input, named by file and position (never a stack). */
export function parseSubgraph(subgraph: SubgraphSdl): ParsedSubgraph {
  try {
    return { ...subgraph, document: parse(new Source(subgraph.sdl, subgraph.file)) };
  } catch (error) {
    const location = (error as { locations?: { line: number; column: number }[] }).locations?.[0];
    const where = location ? `:${location.line}:${location.column}` : "";
    const message = (error as Error).message.replace(/^Syntax Error: /, "");
    throw new CheckUsageError(
      `${subgraph.file}${where} (subgraph ${subgraph.name}) does not parse: ${message}`,
    );
  }
}

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/**
 * The README and docs/ link to each other and into the repository: a moved or renamed file, or a
 * renamed heading, must fail here rather than leave a reader at a dead link. External links
 * (http:, mailto:...) are not fetched. Every decision record says where it stands.
 */

const ROOT = path.join(__dirname, "..", "..");

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(full);
    return entry.name.endsWith(".md") ? [full] : [];
  });
}

const DOCS = [path.join(ROOT, "README.md"), ...markdownFiles(path.join(ROOT, "docs"))];

/** Text outside fenced code blocks, line by line (links and headings in code are not links). */
function proseLines(text: string): string[] {
  let fenced = false;
  return text.split("\n").filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, -1, -2... for repeats. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of proseLines(readFileSync(file, "utf8"))) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const repeats = seen.get(slug) ?? 0;
    seen.set(slug, repeats + 1);
    result.add(repeats === 0 ? slug : `${slug}-${repeats}`);
  }
  return result;
}

/** Every inline link target (`[text](target)`), code spans left out. */
function linkTargets(file: string): string[] {
  return proseLines(readFileSync(file, "utf8")).flatMap((line) =>
    [...line.replace(/`[^`]*`/g, "code").matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map(
      (match) => match[1]!,
    ),
  );
}

/** Why `target`, linked from `file`, leads nowhere; null when it resolves. */
function brokenLink(file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null;
  const [pathPart = "", anchor] = target.split("#", 2);
  const resolved = pathPart === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
  if (!resolved.startsWith(ROOT + path.sep) && resolved !== ROOT) return "points outside the repository";
  if (!existsSync(resolved)) return "no such file";
  if (anchor === undefined) return null;
  if (statSync(resolved).isDirectory() || !resolved.endsWith(".md"))
    return "an anchor on a non-Markdown target";
  return anchors(resolved).has(anchor) ? null : `no heading #${anchor}`;
}

test("the README and docs/ are found", () => {
  expect(DOCS.map((file) => path.relative(ROOT, file))).toEqual(
    expect.arrayContaining([
      "README.md",
      "docs/configuration.md",
      path.join("docs", "decisions", "README.md"),
    ]),
  );
});

test.each(DOCS.map((file) => [path.relative(ROOT, file), file]))(
  "every relative link in %s resolves",
  (_name, file) => {
    const broken = linkTargets(file)
      .map((target) => ({ target, problem: brokenLink(file, target) }))
      .filter(({ problem }) => problem !== null);
    expect(broken).toEqual([]);
  },
);

test("a broken link and a missing anchor are caught", () => {
  const readme = path.join(ROOT, "README.md");
  expect(brokenLink(readme, "docs/no-such-page.md")).toBe("no such file");
  expect(brokenLink(readme, "docs/configuration.md#no-such-heading")).toBe("no heading #no-such-heading");
  expect(brokenLink(readme, "docs/configuration.md#variables")).toBeNull();
  expect(brokenLink(readme, "https://example.com/anything")).toBeNull();
});

test("every decision record has a title, then a Status line with a date", () => {
  const records = readdirSync(path.join(ROOT, "docs", "decisions")).filter((name) =>
    /^\d{3}-.*\.md$/.test(name),
  );
  expect(records.length).toBeGreaterThanOrEqual(9);
  const missing = records.filter((name) => {
    const [title = "", , status = ""] = readFileSync(
      path.join(ROOT, "docs", "decisions", name),
      "utf8",
    ).split("\n");
    return !title.startsWith(`# ${name.slice(0, 3)} `) || !/^Status: \w+.*\d{4}-\d{2}-\d{2}/.test(status);
  });
  expect(missing).toEqual([]);
});

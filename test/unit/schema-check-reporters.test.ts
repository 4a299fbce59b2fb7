import MarkdownIt from "markdown-it";

import { type CheckReport, type Finding, stepResult } from "../../scripts/schema/check/report";
import { colorEnabled } from "../../scripts/schema/check/reporters/color";
import * as markdown from "../../scripts/schema/check/reporters/markdown";
import * as text from "../../scripts/schema/check/reporters/text";
import {
  addedField,
  buildReport,
  deprecatedUnused,
  passingReport,
  removedEmail,
} from "../support/check-report";

// eslint-disable-next-line no-control-regex -- what a terminal colour code starts with
const ANSI = /\u001b\[/;

describe("terminal report", () => {
  const plain = text.render(buildReport(), { color: false });

  it("has no colour codes when colour is off, and colours when it is on", () => {
    expect(plain).not.toMatch(ANSI);
    const coloured = text.render(buildReport(), { color: true });
    expect(coloured).toMatch(ANSI);
    expect(coloured.replace(/\u001b\[\d+m/g, "")).toBe(plain); // eslint-disable-line no-control-regex
  });

  it("prints every step with its status and summary, in the report's order", () => {
    const headings = plain
      .split("\n")
      .filter((line) => /^[A-Z][a-z A-Z]+: (passed|failed|skipped) — /.test(line));
    expect(headings).toEqual([
      "Composition: failed — 4 subgraphs composed",
      "API changes: failed — 6 API changes",
      "Operations: passed — 37 operations from 3 sources",
      "Schema lint: passed — 4 subgraphs and 4 operation files linted",
      "Event contracts: skipped — no event contract changed",
    ]);
  });

  it("groups a step's findings by level, failures first, whatever order the step gave them in", () => {
    const diff = plain.slice(plain.indexOf("API changes:"), plain.indexOf("Operations:"));
    const groups = diff.split("\n").filter((line) => /^ {2}\S/.test(line));
    expect(groups).toEqual(["  breaking (1)", "  breaking, approved (1)", "  dangerous (2)", "  safe (1)"]);
  });

  it("says where a finding is, who uses it and who approved it", () => {
    expect(plain).toContain(
      [
        "    ✖ User.email  Field 'email' was removed from object type 'User' [FIELD_REMOVED]",
        "      at subgraph user, schema/user.graphql:12:3",
        "      used by operations GetUser (schema/operations/user.graphql); clients web 1.2.0 (3×, last 2026-12-06)",
      ].join("\n"),
    );
    expect(plain).toContain("      approved by alice: announced in 1.4, gone in 2.0");
    // Unused: the reason a removal is only dangerous.
    expect(plain).toContain(
      "User.legacyId  Field 'legacyId' was removed from object type 'User' [FIELD_REMOVED]\n      used by no known operation or client\n",
    );
  });

  it("prints a finding without a location without an empty 'at' line", () => {
    const enumLine = plain.split("\n").findIndex((line) => line.includes("Role.BOT"));
    expect(plain.split("\n")[enumLine + 1]).not.toMatch(/^\s+at/);
  });

  it("lists stale approvals and ends with the tally and the verdict", () => {
    expect(plain).toContain(
      "Stale approvals: the base already contains these changes: remove them from schema/approvals.json\n",
    );
    expect(plain).toContain("▲ ARG_REMOVED:Query.users(first:) — paging rewrite (by bob)");
    expect(plain.trimEnd().split("\n").pop()).toBe(
      "1 error, 1 breaking, 1 approved breaking, 2 dangerous, 1 warning, 1 safe, 1 info, 1 stale approval — check failed",
    );
    const passing = text.render(passingReport(), { color: false });
    expect(passing.trimEnd().split("\n").pop()).toBe(
      "1 approved breaking, 1 dangerous, 1 safe — check passed",
    );
  });

  it("says so when there is nothing to report", () => {
    const empty = text.render(
      {
        base: "HEAD~1",
        head: "working tree",
        steps: [stepResult("diff", "no API change", [])],
        staleApprovals: [],
        exitCode: 0,
      },
      { color: false },
    );
    expect(empty).toContain("API changes: passed — no API change\n");
    expect(empty.trimEnd().split("\n").pop()).toBe("no findings — check passed");
  });
});

describe("colorEnabled", () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it.each([
    ["a terminal", tty, {}, true],
    ["a pipe or file", pipe, {}, false],
    ["a dumb terminal", tty, { TERM: "dumb" }, false],
    ["NO_COLOR on a terminal", tty, { NO_COLOR: "1" }, false],
    ["an empty NO_COLOR (no-color.org: ignored)", tty, { NO_COLOR: "" }, true],
    ["FORCE_COLOR into a pipe", pipe, { FORCE_COLOR: "1" }, true],
    ["an empty FORCE_COLOR", pipe, { FORCE_COLOR: "" }, true],
    ["FORCE_COLOR over NO_COLOR", pipe, { FORCE_COLOR: "1", NO_COLOR: "1" }, true],
    ["FORCE_COLOR=0 on a terminal", tty, { FORCE_COLOR: "0" }, false],
    ["FORCE_COLOR=false on a terminal", tty, { FORCE_COLOR: "false" }, false],
  ])("%s", (_name, stream, env, expected) => {
    expect(colorEnabled(stream, env)).toBe(expected);
  });
});

describe("Markdown report (pull-request comment)", () => {
  const md = (report: CheckReport) => markdown.render(report, { color: false });
  // GitHub renders comments as GFM with (sanitised) HTML: markdown-it with html on is the stricter reader.
  const html = (report: CheckReport) => new MarkdownIt({ html: true }).render(md(report));
  const cellsOf = (rendered: string) =>
    [...rendered.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
      [...row[1]!.matchAll(/<t[dh]>([\s\S]*?)<\/t[dh]>/g)].map((c) => c[1]!),
    );

  it("starts with the marker CI finds its previous comment by, then the verdict", () => {
    const failed = md(buildReport()).split("\n");
    expect(failed[0]).toBe("<!-- orion-schema-check -->");
    expect(failed[1]).toBe("## ❌ Schema check failed");
    expect(md(passingReport()).split("\n").slice(0, 2)).toEqual([
      markdown.MARKER,
      "## ✅ Schema check passed",
    ]);
  });

  it("renders one five-column table per step, even for text full of pipes, backticks, HTML and newlines", () => {
    const rendered = html(buildReport());
    const rows = cellsOf(rendered);
    expect(rows.length).toBeGreaterThan(8);
    for (const row of rows.filter((cells) => cells.length !== 3)) expect(row).toHaveLength(5);
    const lint = rows.find((cells) => cells[0] === "⚠️ warning")!;
    expect(lint[1]).toBe("<code>Query.search(filter:`a|b`)</code>");
    expect(lint[2]).toBe(
      "Description of `Query.search` is missing | add one<br>second line &lt;script&gt;alert(1)&lt;/script&gt; *bold*" +
        "<br><code>@graphql-eslint/require-description</code>",
    );
    expect(rendered).not.toContain("<script>");
    expect(rendered).not.toContain("<strong>bold");
  });

  it("names the operations and clients a breaking change hurts, and who approved one", () => {
    const rows = cellsOf(html(buildReport()));
    const email = rows.find((cells) => cells[1] === "<code>User.email</code>")!;
    expect(email[0]).toBe("❌ breaking");
    expect(email[3]).toBe("user<br><code>schema/user.graphql:12:3</code>");
    expect(email[4]).toBe(
      "operations GetUser (schema/operations/user.graphql); clients web 1.2.0 (3×, last 2026-12-06)",
    );
    const approved = rows.find((cells) => cells[1] === "<code>User.nickname</code>")!;
    expect(approved[0]).toBe("☑️ breaking, approved");
    expect(approved[2]).toContain("<strong>approved by alice: announced in 1.4, gone in 2.0</strong>");
  });

  it("collapses safe changes and info into <details>, and shows no <details> when there are none", () => {
    const rendered = html(buildReport());
    const details = [...rendered.matchAll(/<details><summary>(.*?)<\/summary>([\s\S]*?)<\/details>/g)];
    expect(details.map((d) => d[1])).toEqual(["1 safe", "1 info"]);
    expect(details[0]![2]).toContain("<code>User.avatarUrl</code>");
    expect(details[1]![2]).toContain("<code>User.fullName</code>");
    const visible = rendered.replace(/<details>[\s\S]*?<\/details>/g, "");
    expect(visible).not.toContain("User.avatarUrl");
    const onlyBreaking = buildReport({ steps: [stepResult("diff", "1 API change", [removedEmail])] });
    expect(md(onlyBreaking)).not.toContain("<details>");
  });

  it("lists stale approvals", () => {
    const rows = cellsOf(html(buildReport()));
    expect(rows).toContainEqual(["<code>ARG_REMOVED:Query.users(first:)</code>", "paging rewrite", "bob"]);
  });

  it("keeps code spans intact around backticks and pipes", () => {
    expect(markdown.code("a`b")).toBe("``a`b``");
    expect(markdown.code("`edge`")).toBe("`` `edge` ``");
    expect(markdown.code("A|B\nC")).toBe("`A\\|B C`");
    expect(markdown.cell("x | y\r\nz")).toBe("x \\| y<br>z");
  });

  it("stays under GitHub's comment limit: record first, then rows past the limit", () => {
    const many = (finding: Finding, count: number) =>
      Array.from({ length: count }, (_, i) => ({ ...finding, coordinate: `${finding.coordinate}${i}` }));
    const big = buildReport({
      steps: [
        stepResult("diff", "lots", [
          ...many(removedEmail, 50),
          ...many(addedField, 400),
          ...many(deprecatedUnused, 100),
        ]),
      ],
    });
    const withoutRecord = md(big);
    expect(withoutRecord.length).toBeLessThanOrEqual(markdown.COMMENT_LIMIT);
    expect(withoutRecord).not.toContain("<details>");
    expect(withoutRecord).toContain("500 safe and info findings left out");
    expect(withoutRecord).toContain("`User.email49`");

    const huge = buildReport({ steps: [stepResult("diff", "lots", many(removedEmail, 1000))] });
    const cut = md(huge);
    expect(cut.length).toBeLessThanOrEqual(65_536); // GitHub refuses longer comments
    expect(cut.startsWith(markdown.MARKER)).toBe(true);
    expect(cut).toMatch(/The report is longer than a comment can hold/);
    const lastRow = cut
      .split("\n")
      .filter((line) => line.startsWith("| "))
      .pop()!;
    expect(lastRow.endsWith(" |")).toBe(true);
  });
});

import { readFileSync } from "node:fs";
import path from "node:path";

import { parse } from "graphql";

import { SUBGRAPH_NAMES } from "../../platform/config";
import { SCHEMA_DIR } from "../../platform/paths";
import { lintGraphql, repositoryGraphqlFiles } from "../../scripts/schema/check/lint";
import { offsetOf, sdlCoordinateAt } from "../../scripts/schema/check/lint-coordinates";

const userSdl = readFileSync(path.join(SCHEMA_DIR, "user.graphql"), "utf8");

/** The user subgraph's SDL with `addition` appended and `replace` applied: a proposed change. */
const proposedUserSdl = (addition: string, replace: [string, string] = ["", ""]) => ({
  path: "schema/user.graphql",
  text: `${userSdl.replace(...replace)}\n${addition}\n`,
});

const summary = (findings: Awaited<ReturnType<typeof lintGraphql>>) =>
  findings.map(({ level, kind, coordinate, subgraph }) => ({ level, kind, coordinate, subgraph }));

describe("schema lint (@graphql-eslint, the shared ESLint config)", () => {
  it("finds nothing in the repository's subgraph SDL and operations", async () => {
    const files = repositoryGraphqlFiles();
    expect(files.map((file) => file.path)).toEqual(
      expect.arrayContaining(["schema/auth.graphql", "schema/operations/user.graphql"]),
    );
    expect(await lintGraphql(files)).toEqual([]);
  });

  it("reports a type without a description, where it is", async () => {
    const findings = await lintGraphql([proposedUserSdl(`type Badge { """The label""" label: String! }`)]);
    const missing = findings.find((finding) => finding.kind === "@graphql-eslint/require-description");
    expect(missing).toEqual({
      step: "lint",
      level: "error",
      kind: "@graphql-eslint/require-description",
      coordinate: "Badge",
      subgraph: "user",
      message: 'Description is required for type "Badge"',
      location: { file: "schema/user.graphql", line: userSdl.split("\n").length + 1, column: 6 },
    });
  });

  it("reports a field without a description and a deprecation without a reason", async () => {
    const findings = await lintGraphql([
      proposedUserSdl("", [
        "  bio: String\n",
        '  bio: String @deprecated\n  """Shown under the name"""\n  tagline: String\n  pronouns: String\n',
      ]),
    ]);
    expect(summary(findings)).toEqual([
      {
        level: "error",
        kind: "@graphql-eslint/require-deprecation-reason",
        coordinate: "Profile.bio",
        subgraph: "user",
      },
      {
        level: "error",
        kind: "@graphql-eslint/require-description",
        coordinate: "Profile.pronouns",
        subgraph: "user",
      },
    ]);
  });

  it("reports a type nothing reaches, against the proposed SDL rather than the file on disk", async () => {
    const findings = await lintGraphql([
      proposedUserSdl(
        [
          '"""Reached from Profile.badge below"""\ntype Badge { """The label""" label: String! }',
          '"""Nothing returns it"""\ntype Orphan { """Its id""" id: ID! }',
        ].join("\n"),
        ["  bio: String\n", '  bio: String\n\n  """The badge shown"""\n  badge: Badge\n'],
      ),
    ]);
    expect(summary(findings)).toEqual([
      {
        level: "error",
        kind: "@graphql-eslint/no-unreachable-types",
        coordinate: "Orphan",
        subgraph: "user",
      },
    ]);
  });

  it("lints every subgraph's SDL (the config lists the same subgraphs as platform/config)", async () => {
    const orphan = '"""Nothing returns it"""\ntype Orphan { """Its id""" id: ID! }';
    const files = SUBGRAPH_NAMES.map((name) => ({
      path: `schema/${name}.graphql`,
      text: `${readFileSync(path.join(SCHEMA_DIR, `${name}.graphql`), "utf8")}\n${orphan}\n`,
    }));
    const findings = await lintGraphql(files);
    expect(findings.map((finding) => [finding.subgraph, finding.coordinate])).toEqual(
      SUBGRAPH_NAMES.map((name) => [name, "Orphan"]),
    );
  });

  it("checks operations against the API schema, with the coordinate of the field concerned", async () => {
    const findings = await lintGraphql([
      {
        path: "schema/operations/proposed.graphql",
        text: "query getMe {\n  me {\n    id\n    nickname\n  }\n}\n",
      },
    ]);
    expect(summary(findings)).toEqual([
      {
        level: "error",
        kind: "@graphql-eslint/naming-convention",
        coordinate: undefined,
        subgraph: undefined,
      },
      {
        level: "error",
        kind: "@graphql-eslint/fields-on-correct-type",
        coordinate: "User.nickname",
        subgraph: undefined,
      },
    ]);
  });

  it("reports SDL that does not build, and an operation that does not parse, instead of linting them", async () => {
    const findings = await lintGraphql([
      proposedUserSdl("", ["profile: Profile!", "profile: Profil!"]),
      { path: "schema/operations/broken.graphql", text: "query Broken { me { id }\n" },
    ]);
    expect(summary(findings)).toEqual([
      { level: "error", kind: "invalid-sdl", coordinate: undefined, subgraph: "user" },
      { level: "error", kind: "parse-error", coordinate: undefined, subgraph: undefined },
    ]);
    expect(findings[0]!.message).toMatch(/Profil/);
    const [syntaxError] = await lintGraphql([proposedUserSdl("type {")]);
    expect(syntaxError).toMatchObject({ kind: "invalid-sdl", location: { file: "schema/user.graphql" } });
    expect(syntaxError!.location!.line).toBe(userSdl.split("\n").length + 1);
  });

  it("warns about a file the shared config does not cover rather than passing it", async () => {
    const findings = await lintGraphql([{ path: "schema/billing.graphql", text: "type Query { a: Int }\n" }]);
    expect(findings).toEqual([
      {
        step: "lint",
        level: "warning",
        kind: "eslint",
        message: "File ignored because no matching configuration was supplied.",
        location: { file: "schema/billing.graphql" },
      },
    ]);
  });
});

describe("the coordinate of an SDL position", () => {
  const sdl = [
    "type Query { users(first: Int): [User!]! }",
    "type User { id: ID! }",
    "input Filter { name: String }",
    "enum Kind { PERSON BOT }",
    "directive @tag(name: String!) on FIELD_DEFINITION",
  ].join("\n");
  const at = (line: number, needle: string) => {
    const column = sdl.split("\n")[line - 1]!.indexOf(needle) + 1;
    return sdlCoordinateAt(parse(sdl), offsetOf(sdl, line, column));
  };

  it("is spelled as router usage spells it", () => {
    expect(at(1, "users")).toBe("Query.users");
    expect(at(1, "first")).toBe("Query.users(first:)");
    expect(at(2, "User")).toBe("User");
    expect(at(3, "name")).toBe("Filter.name");
    expect(at(4, "BOT")).toBe("Kind.BOT");
    expect(at(5, "tag")).toBe("@tag");
    expect(at(5, "name")).toBe("@tag(name:)");
  });
});

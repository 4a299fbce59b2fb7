import { buildSchema, parse } from "graphql";

import { diffApi } from "../../scripts/schema/check/api-diff";
import { parseApprovals } from "../../scripts/schema/check/approvals";
import { pathCoordinate } from "../../scripts/schema/check/change-coordinates";
import { diffFederationDirectives } from "../../scripts/schema/check/federation-diff";
import { CheckUsageError } from "../../scripts/schema/check/report";
import { parseSubgraph } from "../../scripts/schema/check/sources";
import { buildUsageIndex } from "../../scripts/schema/check/usage-touches";

/*
 * The pieces of the API diff step: coordinates, directive arguments whose value changed, the
 * usage-aware classification, federation directives per subgraph, and the approvals file.
 */

const noLocation = () => ({});

describe("schema coordinates of inspector paths", () => {
  it.each([
    ["User.email", "User.email"],
    ["Query.users.first", "Query.users(first:)"],
    ["Role.BOT", "Role.BOT"],
    ["@limit.max", "@limit(max:)"],
    ["User.name.@deprecated.reason", "User.name @deprecated(reason:)"],
    ["Query.user.kind.@deprecated", "Query.user(kind:) @deprecated"],
    ["JSONObject.@specifiedBy.url", "JSONObject @specifiedBy(url:)"],
  ])("%s → %s", (path, coordinate) => {
    expect(pathCoordinate(path)).toBe(coordinate);
  });
});

describe("the API diff", () => {
  it("reports a directive argument whose value changed as one change, old → new", async () => {
    const before = buildSchema(`type Query { a: String @deprecated(reason: "old") }
      scalar J @specifiedBy(url: "https://a.example")  type T { j: J } extend type Query { t: T }`);
    const after = buildSchema(`type Query { a: String @deprecated(reason: "new") }
      scalar J @specifiedBy(url: "https://b.example")  type T { j: J } extend type Query { t: T }`);
    const findings = await diffApi(before, after, noLocation);
    expect(findings.filter((f) => f.kind.startsWith("DIRECTIVE_USAGE_ARGUMENT"))).toEqual([
      expect.objectContaining({
        kind: "DIRECTIVE_USAGE_ARGUMENT_CHANGED",
        id: "DIRECTIVE_USAGE_ARGUMENT_CHANGED:Query.a @deprecated(reason:)",
        level: "safe",
        message: `Argument 'reason' of '@deprecated' on 'Query.a' changed from "old" to "new"`,
      }),
      expect.objectContaining({
        id: "DIRECTIVE_USAGE_ARGUMENT_CHANGED:J @specifiedBy(url:)",
        level: "dangerous",
      }),
    ]);
  });

  it("downgrades only the breaking changes nobody uses, even when one coordinate prefixes another", async () => {
    const before = buildSchema(`type Query { user: String users: [String] }`);
    const after = buildSchema(`type Query { user: Int users: [Int] }`);
    const [used] = [{ name: "Users", document: parse("query Users { users }") }];
    const usage = buildUsageIndex(
      before,
      [{ ...used, uses: [{ name: "Users", source: "app.graphql" }], location: { file: "app.graphql" } }],
      undefined,
    );
    const findings = await diffApi(before, after, noLocation, usage);
    expect(findings.map((f) => [f.id, f.level])).toEqual([
      ["FIELD_TYPE_CHANGED:Query.user", "dangerous"],
      ["FIELD_TYPE_CHANGED:Query.users", "breaking"],
    ]);
    expect(findings[1]!.usedBy).toEqual({
      operations: [{ name: "Users", source: "app.graphql" }],
      clients: [],
    });
  });
});

describe("federation directives per subgraph", () => {
  const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n`;
  const subgraph = (sdl: string) => [
    parseSubgraph({ name: "user", file: "schema/user.graphql", sdl: LINK + sdl }),
  ];

  it("reports a changed @key and an added @shareable with the subgraph and the line", () => {
    const findings = diffFederationDirectives(
      subgraph(`type User @key(fields: "id") { id: ID! name: String }`),
      subgraph(
        `type User @key(fields: "id") @key(fields: "name") {\n  id: ID!\n  name: String @shareable\n}`,
      ),
      () => undefined,
    );
    expect(findings).toEqual([
      expect.objectContaining({
        kind: "FEDERATION_DIRECTIVE_CHANGED",
        coordinate: "User @key",
        id: "FEDERATION_DIRECTIVE_CHANGED:user:User @key",
        level: "dangerous",
        subgraph: "user",
        message: 'User in subgraph user: @key(fields: "id") → @key(fields: "id") @key(fields: "name")',
      }),
      expect.objectContaining({
        kind: "FEDERATION_DIRECTIVE_ADDED",
        coordinate: "User.name @shareable",
        level: "safe",
        location: { file: "schema/user.graphql", line: 4, column: 3 },
      }),
    ]);
  });
});

describe("schema/approvals.json", () => {
  it.each([
    ["not JSON", "{", /approvals\.json is not JSON/],
    ["no reason", `{"approvals":[{"change":"FIELD_REMOVED:User.email","by":"a"}]}`, /approvals\.0\.reason/],
    ["an id without a kind", `{"approvals":[{"change":"User.email","reason":"r","by":"a"}]}`, /a finding id/],
    [
      "the same change twice",
      `{"approvals":[{"change":"FIELD_REMOVED:A.b","reason":"r","by":"a"},{"change":"FIELD_REMOVED:A.b","reason":"s","by":"b"}]}`,
      /approves FIELD_REMOVED:A\.b twice/,
    ],
  ])("refuses %s as bad input", (_name, text, message) => {
    expect(() => parseApprovals(text)).toThrow(CheckUsageError);
    expect(() => parseApprovals(text)).toThrow(message);
  });
});

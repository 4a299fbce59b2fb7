import { buildSchema, parse } from "graphql";

import { documentCoordinates, variableCoordinates } from "../../router/usage/coordinates";

const schema = buildSchema(`
  interface Node { id: ID! }
  type User implements Node { id: ID! email: String! kind: Kind posts(first: Int = 10, filter: PostFilter): [Post!]! }
  type Post implements Node { id: ID! title: String! }
  union SearchResult = User | Post
  enum Kind { PERSON BOT }
  input PostFilter { kind: Kind tags: [String!] nested: PostFilter }
  type Query { me: User node(id: ID!): Node search(term: String!): [SearchResult!]! users(kind: Kind): [User!]! }
`);

const coordinatesOf = (source: string) => [...documentCoordinates(schema, parse(source))].sort();

describe("schema coordinates an operation touches", () => {
  it("names fields on the type they are selected on, with the arguments given", () => {
    expect(coordinatesOf(`{ me { id email posts(first: 3) { title } } }`)).toEqual([
      "Post.title",
      "Query.me",
      "User.email",
      "User.id",
      "User.posts",
      "User.posts(first:)",
    ]);
  });

  it("names interface fields on the interface, and every type condition", () => {
    expect(
      coordinatesOf(`query Q { node(id: "1") { id ...U } search(term: "x") { ... on Post { title } } }
                     fragment U on User { email }`),
    ).toEqual([
      "Node.id",
      "Post",
      "Post.title",
      "Query.node",
      "Query.node(id:)",
      "Query.search",
      "Query.search(term:)",
      "User",
      "User.email",
    ]);
  });

  it("names input fields and enum values given as literals, but not __typename", () => {
    expect(
      coordinatesOf(
        `{ users(kind: BOT) { __typename posts(filter: { kind: PERSON, nested: { tags: ["a"] } }) { id } } }`,
      ),
    ).toEqual([
      "Kind.BOT",
      "Kind.PERSON",
      "Post.id",
      "PostFilter.kind",
      "PostFilter.nested",
      "PostFilter.tags",
      "Query.users",
      "Query.users(kind:)",
      "User.posts",
      "User.posts(filter:)",
    ]);
  });

  it("adds the input fields and enum values that variables carry", () => {
    const document = parse(
      `query Q($k: Kind, $f: PostFilter, $ks: [Kind!]) { users(kind: $k) { posts(filter: $f) { id } } }`,
    );
    const found = variableCoordinates(schema, document, {
      k: "BOT",
      f: { kind: "PERSON", nested: { tags: ["x"] }, unknown: 1 },
      ks: ["PERSON"],
    });
    expect([...found].sort()).toEqual([
      "Kind.BOT",
      "Kind.PERSON",
      "PostFilter.kind",
      "PostFilter.nested",
      "PostFilter.tags",
    ]);
    expect(variableCoordinates(schema, document, undefined).size).toBe(0);
  });
});

// CommonJS rather than ESM: `orion schema check` (scripts/schema/check/lint.ts) requires this same
// config, and jest, which runs its tests, cannot import() an ES module.
const path = require("node:path");
const js = require("@eslint/js");
const tseslint = require("typescript-eslint");
const graphqlPlugin = require("@graphql-eslint/eslint-plugin");
const eslintComments = require("@eslint-community/eslint-plugin-eslint-comments");
const simpleImportSort = require("eslint-plugin-simple-import-sort");

const ROOT = __dirname;
const SUBGRAPHS_DIR = path.join(ROOT, "subgraphs");

/** SUBGRAPH_NAMES of platform/config.ts (a TypeScript module this file cannot import; a test compares). */
const SUBGRAPHS = ["auth", "user", "notification", "analytics"];
const SUBGRAPH_SDL_FILES = SUBGRAPHS.map((name) => `schema/${name}.graphql`);
const OPERATION_FILES = "schema/operations/*.graphql";
const CODE_FILES = ["**/*.{js,mjs,cjs,ts,mts,cts,tsx}"];

/**
 * Which schema each GraphQL file is checked against: a subgraph's SDL against itself (the plugin
 * builds federation SDL with @apollo/subgraph, so @key and friends are known), the client operations
 * against the API schema. graphql-config matches files and resolves pointers relative to the working
 * directory, hence the relative paths; the plugin keeps the first config it loads, so every block
 * shares this one object.
 */
const fromCwd = (file) => path.relative(process.cwd(), path.join(ROOT, file));
const GRAPHQL_PROJECTS = {
  projects: {
    // First: a proposed operations file is not on disk, matches no pointer, and gets the first project.
    operations: { schema: fromCwd("schema/api.graphql"), documents: fromCwd(OPERATION_FILES) },
    ...Object.fromEntries(SUBGRAPH_SDL_FILES.map((file, i) => [SUBGRAPHS[i], { schema: fromCwd(file) }])),
  },
};

/** The first folder under subgraphs/ that `file` is in or is, if any. */
function subgraphOf(file) {
  const relative = path.relative(SUBGRAPHS_DIR, file);
  if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) return undefined;
  return relative.split(path.sep)[0];
}

/**
 * Subgraphs are deployed and changed independently, so none may import another: what two of them
 * share is an event contract (contracts/) or a helper (platform/). Specifiers are resolved against
 * the importing file because a relative path's depth differs file to file, which glob patterns
 * (no-restricted-imports) cannot follow.
 */
const noCrossSubgraphImports = {
  meta: {
    type: "problem",
    messages: {
      crossSubgraph:
        "subgraphs/{{from}} imports subgraphs/{{to}}: subgraphs never import each other; move what they share to contracts/ or platform/",
      contractImportsSubgraph:
        "contracts/ imports subgraphs/{{to}}: contracts depend on platform/ only, never on the subgraphs that use them",
    },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const relative = path.relative(ROOT, file);
    const inContracts = relative.split(path.sep)[0] === "contracts";
    // subgraphs/index.ts lists every subgraph: it is the registry, not a subgraph.
    const from = path.dirname(relative) === "subgraphs" ? undefined : subgraphOf(file);
    if (!from && !inContracts) return {};
    const check = (node) => {
      if (node?.type !== "Literal" || typeof node.value !== "string" || !node.value.startsWith(".")) return;
      const to = subgraphOf(path.resolve(path.dirname(file), node.value));
      if (to === undefined || to === from) return;
      if (inContracts) context.report({ node, messageId: "contractImportsSubgraph", data: { to } });
      else context.report({ node, messageId: "crossSubgraph", data: { from, to } });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      TSImportEqualsDeclaration: (node) => check(node.moduleReference.expression),
      CallExpression: (node) => {
        if (node.callee.type === "Identifier" && node.callee.name === "require") check(node.arguments[0]);
      },
    };
  },
};

module.exports = tseslint.config(
  {
    ignores: [
      "dist/",
      "node_modules/",
      "coverage/",
      ".orion/",
      "schema/generated/",
      "subgraphs/*/migrations/Migration*.ts",
    ],
  },
  {
    // The JavaScript and TypeScript rules stay off the GraphQL files, which have their own parser.
    files: CODE_FILES,
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      // With decorator metadata, a class used only as a parameter type is still a runtime value.
      parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true },
    },
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unsafe-function-type": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Every source file stays under 300 lines, each line counted as `wc -l` counts it. A file that
    // must be longer says why at its top, `/* eslint-disable max-lines -- <why> */`: a directive
    // that turns a rule off for a whole file or block needs its reason (a line-level one sits next to
    // the code it excuses), and one that no longer silences anything fails the lint.
    files: CODE_FILES,
    linterOptions: { reportUnusedDisableDirectives: "error" },
    plugins: { "@eslint-community/eslint-comments": eslintComments },
    rules: {
      "max-lines": ["error", { max: 300, skipBlankLines: false, skipComments: false }],
      "@eslint-community/eslint-comments/require-description": [
        "error",
        { ignore: ["eslint-enable", "eslint-disable-line", "eslint-disable-next-line"] },
      ],
    },
  },
  {
    // Imports in one order everywhere (packages, then the project's own, each alphabetical), fixed
    // by `eslint --fix`: a reader finds a dependency at once and a merge never conflicts on order.
    // Side-effect imports (`import "reflect-metadata"`, tracing's bootstrap) keep their place first.
    files: CODE_FILES,
    plugins: { "simple-import-sort": simpleImportSort },
    rules: { "simple-import-sort/imports": "error", "simple-import-sort/exports": "error" },
  },
  {
    // Subgraphs depend on the platform kit, never the reverse: a new subgraph must not edit platform/.
    files: ["platform/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/subgraphs", "**/subgraphs/**"], message: "platform/ must not import subgraphs/" },
          ],
        },
      ],
    },
  },
  {
    files: ["subgraphs/**/*.ts", "contracts/**/*.ts"],
    plugins: { orion: { rules: { "no-cross-subgraph-imports": noCrossSubgraphImports } } },
    rules: { "orion/no-cross-subgraph-imports": "error" },
  },
  {
    files: [...SUBGRAPH_SDL_FILES, OPERATION_FILES],
    languageOptions: { parser: graphqlPlugin.parser, parserOptions: { graphQLConfig: GRAPHQL_PROJECTS } },
    plugins: { "@graphql-eslint": graphqlPlugin },
  },
  {
    files: SUBGRAPH_SDL_FILES,
    rules: {
      ...graphqlPlugin.configs["flat/schema-recommended"].rules,
      "@graphql-eslint/require-description": [
        "error",
        {
          types: true,
          rootField: true,
          FieldDefinition: true,
          InputValueDefinition: true,
          ignoredSelectors: [
            // Query and Mutation are described by their fields; each subgraph declares its own part.
            "[type=ObjectTypeDefinition][name.value=/^(Query|Mutation|Subscription)$/]",
            // Arguments are named for what they are (id, first, after, input); input fields are described.
            "[type=InputValueDefinition][parent.type=FieldDefinition]",
          ],
        },
      ],
      // Value types (Profile, TimeBucket) and Relay wrappers have no identity of their own; an id on
      // each would be invented, and the public API contract has none.
      "@graphql-eslint/strict-id-in-types": "off",
    },
  },
  {
    files: [OPERATION_FILES],
    rules: {
      ...graphqlPlugin.configs["flat/operations-recommended"].rules,
      // Deprecating a field must not fail the build of the operations that still use it: they are
      // told, and the schema check's deprecation report says when the field is safe to remove.
      "@graphql-eslint/no-deprecated": "warn",
    },
  },
  {
    files: ["**/*.cjs", "**/*.js"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        __dirname: "readonly",
        process: "readonly",
        console: "readonly",
        fetch: "readonly",
        AbortSignal: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);

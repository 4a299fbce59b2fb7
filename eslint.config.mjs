import path from "node:path";
import { fileURLToPath } from "node:url";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const SUBGRAPHS_DIR = path.join(ROOT, "subgraphs");

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

export default tseslint.config(
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
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
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

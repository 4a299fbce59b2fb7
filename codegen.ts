import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * Typed documents for the client operations in schema/operations, generated from the API schema
 * that `npm run schema:compose` prints. The output is committed; `npm run codegen:check` fails on drift.
 */
const config: CodegenConfig = {
  schema: "schema/api.graphql",
  documents: ["schema/operations/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "schema/generated/": {
      preset: "client",
      presetConfig: { fragmentMasking: false, gqlTagName: "graphql" },
      config: {
        scalars: { DateTime: "string", JSONObject: "Record<string, unknown>" },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
      },
    },
  },
};

export default config;

import { createHash } from "node:crypto";

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
      presetConfig: {
        fragmentMasking: false,
        gqlTagName: "graphql",
        // persisted-documents.json: sha256 hex of each normalised document -> the document. The router's
        // safelist (router/persisted-operations.ts) is built from it, and the hash is exactly what an APQ
        // client sends as extensions.persistedQuery.sha256Hash (no "sha256:" prefix, unlike the default).
        persistedDocuments: {
          hashAlgorithm: (document: string) => createHash("sha256").update(document).digest("hex"),
        },
      },
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

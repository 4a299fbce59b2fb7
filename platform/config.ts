/**
 * The environment variables every service shares (and the router's own), declared once with their
 * validation. A subgraph declares the variables only it reads in its own `settings.ts`;
 * subgraphs/index.ts merges both into the whole catalogue that the configuration table
 * (docs/configuration.md), the compose file and the Kubernetes manifests are checked against, so a
 * renamed variable cannot drift silently. platform/ never imports subgraphs/: it only knows the shape of a subgraph's declarations.
 *
 * This file is the one entry point; the parts live in config/: services.ts names the services,
 * variable.ts is how a variable is declared, platform-variables.ts is the platform's catalogue,
 * service-variables.ts says which of them each service reads, parse.ts reads the environment.
 */

export * from "./config/parse";
export * from "./config/platform-variables";
export * from "./config/service-variables";
export * from "./config/services";
export * from "./config/variable";

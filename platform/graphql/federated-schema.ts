import { buildSubgraphSchema } from "@apollo/subgraph";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import type { GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { deny, shield } from "graphql-shield";
import gql from "graphql-tag";
import { buildSchemaSync, createResolversMap } from "type-graphql";

import { forbidden } from "../errors";
import { inputGuard } from "./input-guard";
import { FEDERATION_RULES, type RuleMap } from "./rules";
import { SCALARS_MAP } from "./scalars";

type SchemaModule = Extract<Parameters<typeof buildSubgraphSchema>[0], readonly unknown[]>[number];
type ResolverMap = NonNullable<Extract<SchemaModule, { typeDefs: unknown }>["resolvers"]>;

export type ReferenceResolver<Ctx> = (reference: { __typename: string; id: string }, context: Ctx) => unknown;

export interface FederatedSchemaOptions {
  // type-graphql takes resolver classes; their constructor signatures are irrelevant here.
  resolvers: [Function, ...Function[]];
  orphanedTypes?: Function[];
  /** `__resolveReference` per entity type: what `_entities` calls. */
  references?: Record<string, ReferenceResolver<never>>;
  /** This subgraph's graphql-shield rules; anything they do not name is denied. */
  permissions: RuleMap;
}

const FEDERATION_IMPORTS = [
  "@key",
  "@shareable",
  "@external",
  "@requires",
  "@provides",
  "@inaccessible",
  "@tag",
];

/**
 * type-graphql classes -> Federation 2 subgraph schema -> graphql-shield, deny by default -> the
 * input guard (input-guard.ts), which runs first. Pure: no I/O, so `schema:compose` prints SDL from
 * code without starting anything.
 */
export function buildFederatedSchema(options: FederatedSchemaOptions): GraphQLSchema {
  const classSchema = buildSchemaSync({
    resolvers: options.resolvers,
    orphanedTypes: options.orphanedTypes,
    scalarsMap: SCALARS_MAP,
    skipCheck: true,
    validate: false,
  });
  const typeDefs = gql`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ${JSON.stringify(FEDERATION_IMPORTS)})
    ${printSchemaWithDirectives(classSchema)}
  `;
  const resolvers = createResolversMap(classSchema) as Record<string, Record<string, unknown>>;
  for (const [typeName, resolveReference] of Object.entries(options.references ?? {})) {
    resolvers[typeName] = { ...resolvers[typeName], __resolveReference: resolveReference };
  }
  const subgraph = buildSubgraphSchema({ typeDefs, resolvers: resolvers as ResolverMap });
  const permissions = shield(mergeRules(FEDERATION_RULES as RuleMap, options.permissions), {
    fallbackRule: deny,
    fallbackError: forbidden(),
    // Resolvers throw deliberate public errors (NOT_FOUND, CONFLICT...); shield must let them through.
    allowExternalErrors: true,
  });
  // Applied last, so it wraps the shielded resolvers: malformed text is refused before a rule
  // reads the arguments (isSelfOrAdmin compares ids) and before a resolver hands it to PostgreSQL.
  return applyMiddleware(applyMiddleware(subgraph, permissions), inputGuard(subgraph));
}

function mergeRules(base: RuleMap, extra: RuleMap): RuleMap {
  const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [type, rules] of Object.entries(extra as Record<string, unknown>)) {
    const existing = merged[type];
    merged[type] =
      existing &&
      typeof existing === "object" &&
      rules &&
      typeof rules === "object" &&
      !isRule(rules) &&
      !isRule(existing)
        ? { ...(existing as object), ...(rules as object) }
        : rules;
  }
  return merged as RuleMap;
}

function isRule(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    "resolve" in value &&
    typeof (value as { resolve: unknown }).resolve === "function"
  );
}

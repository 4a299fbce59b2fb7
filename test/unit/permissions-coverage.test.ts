import "reflect-metadata";

import { readFileSync } from "node:fs";

import {
  type ConstDirectiveNode,
  type ConstValueNode,
  type GraphQLSchema,
  isIntrospectionType,
  isObjectType,
  Kind,
  parse,
} from "graphql";
import { allow, rule } from "graphql-shield";

import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { buildFederatedSchema, type FederatedSchemaOptions } from "../../platform/graphql/federated-schema";
import { FEDERATION_RULES } from "../../platform/graphql/rules";
import { SUPERGRAPH_PATH } from "../../platform/paths";
import { SUBGRAPHS } from "../../subgraphs";

/**
 * Deny by default, checked from the files: every field of the composed supergraph (and of each
 * subgraph's schema as its code builds it today) has an explicit graphql-shield rule in the map the
 * resolving subgraph actually passes to buildFederatedSchema, and no rule names something that does
 * not exist (that a field without a rule is refused: permissions-fallback.test.ts). Nothing here
 * lists fields by hand.
 */

// Each subgraph's buildSchema() calls buildFederatedSchema; recording its options gives the rule
// map that subgraph really enforces (not merely the one a permissions.ts happens to export).
jest.mock("../../platform/graphql/federated-schema", () => {
  const actual = jest.requireActual<FederatedSchemaModule>("../../platform/graphql/federated-schema");
  return { ...actual, buildFederatedSchema: jest.fn(actual.buildFederatedSchema) };
});
type FederatedSchemaModule = { buildFederatedSchema: typeof buildFederatedSchema };

type RuleObject = Record<string, unknown>;

// graphql-shield does not export its rule classes; these are the two it recognises (rule() and allow/and/or...).
const RULE_CLASS = (rule()(() => true) as object).constructor as new (...args: never[]) => unknown;
const LOGIC_RULE_CLASS = Object.getPrototypeOf((allow as object).constructor) as new (
  ...args: never[]
) => unknown;
const isShieldRule = (value: unknown): boolean =>
  value instanceof RULE_CLASS || value instanceof LOGIC_RULE_CLASS;

interface BuiltSubgraph {
  schema: GraphQLSchema;
  /** The map passed to buildFederatedSchema (FEDERATION_RULES are merged in by it). */
  permissions: RuleObject;
}

function buildSubgraphs(): Record<SubgraphName, BuiltSubgraph> {
  const recorder = buildFederatedSchema as jest.MockedFunction<typeof buildFederatedSchema>;
  const built = {} as Record<SubgraphName, BuiltSubgraph>;
  for (const name of SUBGRAPH_NAMES) {
    recorder.mockClear();
    const schema = SUBGRAPHS[name].buildSchema();
    const calls = recorder.mock.calls as [FederatedSchemaOptions][];
    if (calls.length !== 1)
      throw new Error(
        `${name}: buildSchema() called buildFederatedSchema ${calls.length} times, expected once`,
      );
    built[name] = { schema, permissions: calls[0]![0].permissions as RuleObject };
  }
  return built;
}

/** Whether the map names a rule for Type.field: a rule for the whole type, the field, or the type's "*". */
function hasRule(map: RuleObject, type: string, field: string): boolean {
  const own = map[type];
  const federation = (FEDERATION_RULES as RuleObject)[type];
  return [own, federation].some((entry) => {
    if (isShieldRule(entry)) return true;
    if (!entry || typeof entry !== "object") return false;
    const fields = entry as RuleObject;
    return isShieldRule(fields[field]) || isShieldRule(fields["*"]);
  });
}

const FEDERATION_FIELDS = new Set(["Query._service", "Query._entities"]);
const FEDERATION_TYPES = new Set(["_Service"]);

// ---------------------------------------------------------------- the committed supergraph

interface SupergraphField {
  coordinate: string;
  type: string;
  field: string;
  subgraphs: SubgraphName[];
}

const stringArg = (directive: ConstDirectiveNode, name: string): string | undefined => {
  const value: ConstValueNode | undefined = directive.arguments?.find((a) => a.name.value === name)?.value;
  return value && (value.kind === Kind.ENUM || value.kind === Kind.STRING) ? value.value : undefined;
};
const booleanArg = (directive: ConstDirectiveNode, name: string): boolean => {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.BOOLEAN && value.value;
};

/** Every field of every object type in schema/supergraph.graphql, with the subgraph(s) that resolve it. */
function supergraphFields(): { fields: SupergraphField[]; problems: string[] } {
  const document = parse(readFileSync(SUPERGRAPH_PATH, "utf8"));
  const problems: string[] = [];
  const graphs = new Map<string, SubgraphName>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== "join__Graph") continue;
    for (const value of definition.values ?? []) {
      const directive = value.directives?.find((d) => d.name.value === "join__graph");
      const name = directive && stringArg(directive, "name");
      if (name && (SUBGRAPH_NAMES as readonly string[]).includes(name))
        graphs.set(value.name.value, name as SubgraphName);
      else problems.push(`join__Graph.${value.name.value} names no known subgraph (${String(name)})`);
    }
  }
  const subgraphOf = (directive: ConstDirectiveNode): SubgraphName | undefined => {
    const graph = stringArg(directive, "graph");
    return graph === undefined ? undefined : graphs.get(graph);
  };

  const fields: SupergraphField[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION)
      continue;
    const type = definition.name.value;
    if (type.startsWith("__") || type.startsWith("join__") || type.startsWith("link__")) continue;
    if (FEDERATION_TYPES.has(type)) continue;
    const typeGraphs = (definition.directives ?? [])
      .filter((d) => d.name.value === "join__type")
      .map(subgraphOf)
      .filter((s): s is SubgraphName => s !== undefined);
    if (typeGraphs.length === 0) problems.push(`${type} has no @join__type: no subgraph owns it`);
    for (const field of definition.fields ?? []) {
      const coordinate = `${type}.${field.name.value}`;
      if (FEDERATION_FIELDS.has(coordinate)) continue;
      const joins = (field.directives ?? []).filter((d) => d.name.value === "join__field");
      // No @join__field: every subgraph that defines the type resolves the field. Otherwise only the
      // named graphs, minus those where the field is merely @external or was overridden away.
      const resolving =
        joins.length === 0
          ? typeGraphs
          : joins
              .filter((d) => !booleanArg(d, "external") && !booleanArg(d, "usedOverridden"))
              .map(subgraphOf)
              .filter((s): s is SubgraphName => s !== undefined);
      if (resolving.length === 0) problems.push(`${coordinate}: no subgraph resolves it`);
      fields.push({ coordinate, type, field: field.name.value, subgraphs: [...new Set(resolving)] });
    }
  }
  return { fields, problems };
}

// ---------------------------------------------------------------- a subgraph's own schema

/** Every field a subgraph's code-built schema can be asked for (its @external fields are not resolved there). */
function subgraphFields(schema: GraphQLSchema): { type: string; field: string }[] {
  const result: { type: string; field: string }[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type) || FEDERATION_TYPES.has(type.name)) continue;
    for (const field of Object.values(type.getFields())) {
      if (FEDERATION_FIELDS.has(`${type.name}.${field.name}`)) continue;
      if (field.astNode?.directives?.some((d) => d.name.value === "external")) continue;
      result.push({ type: type.name, field: field.name });
    }
  }
  return result;
}

/** Entries that protect nothing: unknown types or fields, non-object types, values graphql-shield does not see as rules. */
function badEntries(map: RuleObject, schema: GraphQLSchema): string[] {
  const problems: string[] = [];
  for (const [typeName, entry] of Object.entries(map)) {
    const type = schema.getType(typeName);
    if (!type) {
      problems.push(`${typeName}: no such type in this subgraph`);
      continue;
    }
    if (!isObjectType(type)) {
      problems.push(`${typeName}: not an object type (graphql-shield ignores it)`);
      continue;
    }
    if (isShieldRule(entry)) continue;
    if (!entry || typeof entry !== "object") {
      problems.push(`${typeName}: neither a rule nor a map of field rules`);
      continue;
    }
    const fields = type.getFields();
    for (const [fieldName, fieldRule] of Object.entries(entry as RuleObject)) {
      // A map with one non-rule value is not a field map to graphql-shield: the whole type falls back to deny.
      if (!isShieldRule(fieldRule)) problems.push(`${typeName}.${fieldName}: not a graphql-shield rule`);
      if (fieldName !== "*" && !Object.prototype.hasOwnProperty.call(fields, fieldName))
        problems.push(`${typeName}.${fieldName}: no such field in this subgraph`);
    }
  }
  return problems;
}

describe("graphql-shield permissions: deny by default, every field named", () => {
  let built: Record<SubgraphName, BuiltSubgraph>;
  beforeAll(() => {
    built = buildSubgraphs();
  });

  it("names a rule for every field of the committed supergraph in each subgraph that resolves it", () => {
    const { fields, problems } = supergraphFields();
    expect(problems).toEqual([]);
    expect(fields.length).toBeGreaterThan(0);
    const missing = fields.flatMap(({ coordinate, type, field, subgraphs }) =>
      subgraphs
        .filter((name) => !hasRule(built[name].permissions, type, field))
        .map((name) => `${name}: ${coordinate}`),
    );
    expect(missing).toEqual([]);
  });

  it("names a rule for every field each subgraph's code builds (including entity fields reached through _entities)", () => {
    const missing = SUBGRAPH_NAMES.flatMap((name) =>
      subgraphFields(built[name].schema)
        .filter(({ type, field }) => !hasRule(built[name].permissions, type, field))
        .map(({ type, field }) => `${name}: ${type}.${field}`),
    );
    expect(missing).toEqual([]);
  });

  it("has no rule for a type or field the subgraph does not have, and only graphql-shield rules as values", () => {
    const problems = SUBGRAPH_NAMES.flatMap((name) =>
      badEntries(built[name].permissions, built[name].schema).map((problem) => `${name}: ${problem}`),
    );
    expect(problems).toEqual([]);
  });
});

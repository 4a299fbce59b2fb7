import {
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  validate,
  visit,
} from "graphql";

import { type AbuseLimits, type AcceptCallback, armorValidationRules } from "./abuse-limits";

/**
 * Measuring the repository's operations against the router's abuse limits (the table atop
 * abuse-limits.ts comes from here): the same graphql-armor rules, run without limits.
 */

/** An operation's size in each of the limits a document is measured against (not its variables). */
export type OperationMeasure = { name: string } & Pick<
  AbuseLimits,
  "depth" | "cost" | "aliases" | "directives" | "tokens" | "characters"
>;

const UNLIMITED: AbuseLimits = {
  depth: Number.MAX_SAFE_INTEGER,
  cost: Number.MAX_SAFE_INTEGER,
  aliases: Number.MAX_SAFE_INTEGER,
  directives: Number.MAX_SAFE_INTEGER,
  tokens: Number.MAX_SAFE_INTEGER,
  characters: Number.MAX_SAFE_INTEGER,
  variablesBytes: Number.MAX_SAFE_INTEGER,
};

/** Each operation with the fragments it uses, as a client sends it (codegen's documents are printed). */
export function operationDocuments(source: string): { name: string; document: DocumentNode }[] {
  const definitions = parse(source).definitions;
  const fragments = new Map(
    definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  return definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((operation) => {
      const used = new Map<string, FragmentDefinitionNode>();
      const collect = (node: OperationDefinitionNode | FragmentDefinitionNode) =>
        visit(node, {
          FragmentSpread(spread) {
            const fragment = fragments.get(spread.name.value);
            if (fragment && !used.has(fragment.name.value)) {
              used.set(fragment.name.value, fragment);
              collect(fragment);
            }
          },
        });
      collect(operation);
      return {
        name: operation.name?.value ?? "anonymous",
        document: { kind: Kind.DOCUMENT, definitions: [operation, ...used.values()] },
      };
    });
}

/**
 * What the router's limits see in each operation of a document: the same graphql-armor rules,
 * run without limits, report each count; tokens and characters are those of the printed document.
 */
export function measureOperations(schema: GraphQLSchema, source: string): OperationMeasure[] {
  return operationDocuments(source).map(({ name, document }) => {
    const printed = print(document);
    const measure: OperationMeasure = {
      name,
      depth: 0,
      cost: 0,
      aliases: 0,
      directives: 0,
      tokens: (parse(printed) as DocumentNode & { tokenCount?: number }).tokenCount ?? 0,
      characters: printed.length,
    };
    const record =
      (key: "depth" | "cost" | "aliases" | "directives"): AcceptCallback =>
      (_context, { n }) => {
        measure[key] = Math.max(measure[key], n);
      };
    validate(
      schema,
      document,
      armorValidationRules(UNLIMITED, {
        depth: record("depth"),
        cost: record("cost"),
        aliases: record("aliases"),
        directives: record("directives"),
      }),
    );
    return measure;
  });
}

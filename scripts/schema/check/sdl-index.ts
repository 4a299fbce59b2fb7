import { type ASTNode, type DefinitionNode, Kind } from "graphql";

import type { Location } from "./report";
import type { ParsedSubgraph } from "./sources";

/**
 * Where each schema coordinate is written in the subgraphs' SDL: a finding about `User.email`
 * points at the line of `email` in `type User` of the subgraph that declares it. A coordinate
 * several subgraphs declare (an entity's `User.id`) lists them all, in subgraph order.
 */
export interface Declaration {
  subgraph: string;
  location: Location;
}

export type SdlIndex = Map<string, Declaration[]>;

const TYPE_KINDS = new Set<string>([
  Kind.OBJECT_TYPE_DEFINITION,
  Kind.OBJECT_TYPE_EXTENSION,
  Kind.INTERFACE_TYPE_DEFINITION,
  Kind.INTERFACE_TYPE_EXTENSION,
  Kind.INPUT_OBJECT_TYPE_DEFINITION,
  Kind.INPUT_OBJECT_TYPE_EXTENSION,
  Kind.ENUM_TYPE_DEFINITION,
  Kind.ENUM_TYPE_EXTENSION,
  Kind.UNION_TYPE_DEFINITION,
  Kind.UNION_TYPE_EXTENSION,
  Kind.SCALAR_TYPE_DEFINITION,
  Kind.SCALAR_TYPE_EXTENSION,
]);

export function locationOf(node: ASTNode): Location | undefined {
  if (!node.loc) return undefined;
  return { file: node.loc.source.name, line: node.loc.startToken.line, column: node.loc.startToken.column };
}

interface NamedChildren {
  name: { value: string };
  fields?: readonly { name: { value: string }; arguments?: readonly { name: { value: string } }[] }[];
  values?: readonly { name: { value: string } }[];
}

export function buildSdlIndex(subgraphs: ParsedSubgraph[]): SdlIndex {
  const index: SdlIndex = new Map();
  const add = (coordinate: string, subgraph: string, node: ASTNode) => {
    const location = locationOf(node);
    if (!location) return;
    const declarations = index.get(coordinate) ?? [];
    declarations.push({ subgraph, location });
    index.set(coordinate, declarations);
  };
  for (const { name: subgraph, document } of subgraphs) {
    for (const definition of document.definitions as readonly DefinitionNode[]) {
      if (definition.kind === Kind.DIRECTIVE_DEFINITION) {
        add(`@${definition.name.value}`, subgraph, definition);
        for (const argument of definition.arguments ?? [])
          add(`@${definition.name.value}(${argument.name.value}:)`, subgraph, argument);
        continue;
      }
      if (!TYPE_KINDS.has(definition.kind)) continue;
      const type = definition as unknown as NamedChildren & ASTNode;
      const typeName = type.name.value;
      add(typeName, subgraph, definition);
      for (const field of type.fields ?? []) {
        add(`${typeName}.${field.name.value}`, subgraph, field as unknown as ASTNode);
        for (const argument of field.arguments ?? [])
          add(
            `${typeName}.${field.name.value}(${argument.name.value}:)`,
            subgraph,
            argument as unknown as ASTNode,
          );
      }
      for (const value of type.values ?? [])
        add(`${typeName}.${value.name.value}`, subgraph, value as unknown as ASTNode);
    }
  }
  return index;
}

/** `Query.users(first:)` → `Query.users` → `Query`: the nearest declared element. */
export function parentCoordinate(coordinate: string): string | undefined {
  const element = coordinate.split(" ")[0]!.split("|")[0]!.split("&")[0]!;
  if (element !== coordinate) return element;
  if (element.endsWith(":)")) return element.slice(0, element.lastIndexOf("("));
  if (element.includes(".")) return element.slice(0, element.lastIndexOf("."));
  return undefined;
}

/**
 * The declaration a finding points at: the coordinate itself, else its nearest parent (a removed
 * field points at its type, still in the file), preferring the subgraphs the change touched.
 */
export function declarationOf(
  index: SdlIndex,
  coordinate: string,
  preferred: ReadonlySet<string>,
): Declaration | undefined {
  for (let current: string | undefined = coordinate; current; current = parentCoordinate(current)) {
    const declarations = index.get(current);
    if (declarations?.length)
      return declarations.find((declaration) => preferred.has(declaration.subgraph)) ?? declarations[0];
  }
  return undefined;
}

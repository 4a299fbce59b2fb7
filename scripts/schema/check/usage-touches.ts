import type { Change } from "@graphql-inspector/core";
import {
  getNamedType,
  type GraphQLNamedType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
} from "graphql";

import { documentCoordinates } from "../../../router/usage/coordinates";
import type { UsageFile } from "../../../router/usage/usage-file";
import type { KnownOperation } from "./known-operations";
import type { Usage } from "./report";

/**
 * Who a breaking change touches: the known operations (read under the OLD schema, the one they
 * were written against) and the clients of a usage file. What "touches" means per change kind,
 * with the coordinates of router/usage/coordinates.ts:
 *
 * | change                              | touched by                                                      |
 * | ----------------------------------- | --------------------------------------------------------------- |
 * | FIELD_REMOVED, FIELD_TYPE_CHANGED    | selecting `T.f`                                                 |
 * | FIELD_ARGUMENT_ADDED (required)      | selecting `T.f` (every selection must now give it)               |
 * | FIELD_ARGUMENT_REMOVED               | giving `T.f(a:)`                                                |
 * | FIELD_ARGUMENT_TYPE_CHANGED          | giving `T.f(a:)`; selecting `T.f` too when it became required   |
 * | INPUT_FIELD_REMOVED, _TYPE_CHANGED   | giving `I.x` (an operation: any argument whose type reaches `I` *) |
 * | INPUT_FIELD_ADDED (required)         | giving any argument whose type reaches `I`                      |
 * | ENUM_VALUE_REMOVED                   | giving `E.V` (an operation: any argument reaching `E` *), or selecting a field returning `E` |
 * | UNION_MEMBER_REMOVED                 | a type condition on the member, or selecting a field returning the union |
 * | OBJECT_TYPE_INTERFACE_REMOVED        | a type condition on the type or the interface, or selecting a field returning the interface |
 * | TYPE_REMOVED, TYPE_KIND_CHANGED      | anything on the type (`T`, `T.*`) or selecting a field returning it; any argument reaching it |
 * | DIRECTIVE_REMOVED, _LOCATION_REMOVED, _ARGUMENT_ADDED (required) | using `@d` |
 * | DIRECTIVE_ARGUMENT_REMOVED, _TYPE_CHANGED | giving `@d(a:)`                                        |
 * | anything else breaking               | cannot tell: it stays breaking                                  |
 *
 * \* An operation's variables are not in its document, so it is touched when it gives an argument
 * whose type reaches the input type or enum (it may carry the value); a client's recorded usage
 * includes the values its variables carried (variableCoordinates), so clients are matched exactly.
 */
export interface Touch {
  coordinates: string[];
  /** Coordinates starting with `T.`: everything on a removed type. */
  prefixes?: string[];
  /** Arguments whose type reaches the changed input type or enum: an operation giving one may carry it. */
  throughArguments?: string[];
}

export interface OperationUse {
  name: string;
  source: string;
  coordinates: Set<string>;
}

export interface UsageIndex {
  operations: OperationUse[];
  clients: UsageFile["clients"];
}

export function buildUsageIndex(
  oldApi: GraphQLSchema,
  operations: KnownOperation[],
  usage: UsageFile | undefined,
): UsageIndex {
  return {
    operations: operations.flatMap(({ document, uses }) => {
      const coordinates = documentCoordinates(oldApi, document);
      return uses.map(({ name, source }) => ({ name, source, coordinates }));
    }),
    clients: usage?.clients ?? [],
  };
}

const reachingBySchema = new WeakMap<GraphQLSchema, Map<string, Set<string>>>();

/** The argument coordinates whose type is, or contains, the named input type or enum. */
function argumentsReaching(schema: GraphQLSchema, typeName: string): string[] {
  let reaching = reachingBySchema.get(schema);
  if (!reaching) reachingBySchema.set(schema, (reaching = reachingMap(schema)));
  return [...(reaching.get(typeName) ?? [])];
}

function reachingMap(schema: GraphQLSchema): Map<string, Set<string>> {
  const reaching = new Map<string, Set<string>>();
  const walk = (type: GraphQLNamedType, argument: string, seen: Set<string>) => {
    if (seen.has(type.name)) return;
    seen.add(type.name);
    if (!isInputObjectType(type) && !isEnumType(type)) return;
    const set = reaching.get(type.name) ?? new Set<string>();
    set.add(argument);
    reaching.set(type.name, set);
    if (isInputObjectType(type))
      for (const field of Object.values(type.getFields())) walk(getNamedType(field.type), argument, seen);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields()))
      for (const arg of field.args)
        walk(getNamedType(arg.type), `${type.name}.${field.name}(${arg.name}:)`, new Set());
  }
  return reaching;
}

function fieldsReturning(schema: GraphQLSchema, typeName: string): string[] {
  const fields: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields()))
      if (getNamedType(field.type).name === typeName) fields.push(`${type.name}.${field.name}`);
  }
  return fields;
}

/** The table above; undefined when the kind is not in it (the change stays breaking). */
export function touchOf(change: Change, oldApi: GraphQLSchema): Touch | undefined {
  const through = (type: unknown) => argumentsReaching(oldApi, String(type));
  const meta = change.meta as Record<string, string | boolean | null | undefined>;
  const field = `${meta.typeName}.${meta.fieldName}`;
  const argument = `${field}(${meta.argumentName}:)`;
  switch (change.type) {
    case "FIELD_REMOVED":
      return { coordinates: [`${meta.typeName}.${meta.removedFieldName}`] };
    case "FIELD_TYPE_CHANGED":
    case "FIELD_ARGUMENT_ADDED":
      return { coordinates: [field] };
    case "FIELD_ARGUMENT_REMOVED":
      return { coordinates: [`${field}(${meta.removedFieldArgumentName}:)`] };
    case "FIELD_ARGUMENT_TYPE_CHANGED":
      return { coordinates: String(meta.newArgumentType).endsWith("!") ? [argument, field] : [argument] };
    case "INPUT_FIELD_REMOVED":
      return {
        coordinates: [`${meta.inputName}.${meta.removedFieldName}`],
        throughArguments: through(meta.inputName),
      };
    case "INPUT_FIELD_TYPE_CHANGED":
      return {
        coordinates: [`${meta.inputName}.${meta.inputFieldName}`],
        throughArguments: through(meta.inputName),
      };
    case "INPUT_FIELD_ADDED":
      return { coordinates: through(meta.inputName) };
    case "ENUM_VALUE_REMOVED":
      return {
        coordinates: [
          `${meta.enumName}.${meta.removedEnumValueName}`,
          ...fieldsReturning(oldApi, String(meta.enumName)),
        ],
        throughArguments: through(meta.enumName),
      };
    case "UNION_MEMBER_REMOVED":
      return {
        coordinates: [
          String(meta.removedUnionMemberTypeName),
          ...fieldsReturning(oldApi, String(meta.unionName)),
        ],
      };
    case "OBJECT_TYPE_INTERFACE_REMOVED":
      return {
        coordinates: [
          String(meta.objectTypeName),
          String(meta.removedInterfaceName),
          ...fieldsReturning(oldApi, String(meta.removedInterfaceName)),
        ],
      };
    case "TYPE_REMOVED":
    case "TYPE_KIND_CHANGED": {
      const type = String(meta.removedTypeName ?? meta.typeName);
      return {
        coordinates: [type, ...fieldsReturning(oldApi, type), ...through(type)],
        prefixes: [`${type}.`],
      };
    }
    case "DIRECTIVE_REMOVED":
      return { coordinates: [`@${meta.removedDirectiveName}`] };
    case "DIRECTIVE_LOCATION_REMOVED":
    case "DIRECTIVE_ARGUMENT_ADDED":
      return { coordinates: [`@${meta.directiveName}`] };
    case "DIRECTIVE_ARGUMENT_REMOVED":
      return { coordinates: [`@${meta.directiveName}(${meta.removedDirectiveArgumentName}:)`] };
    case "DIRECTIVE_ARGUMENT_TYPE_CHANGED":
      return { coordinates: [`@${meta.directiveName}(${meta.directiveArgumentName}:)`] };
  }
  return undefined;
}

/** The operations and clients a touch reaches; empty when nobody known uses what changed. */
export function usedBy(index: UsageIndex, touch: Touch): Usage {
  const exact = new Set(touch.coordinates);
  const matches = (coordinate: string) =>
    exact.has(coordinate) || (touch.prefixes ?? []).some((prefix) => coordinate.startsWith(prefix));
  const through = new Set(touch.throughArguments);
  const operations = index.operations
    .filter(({ coordinates }) => [...coordinates].some((c) => matches(c) || through.has(c)))
    .map(({ name, source }) => ({ name, source }));
  const clients = index.clients.flatMap(({ name, version, coordinates }) => {
    const used = Object.entries(coordinates).filter(([coordinate]) => matches(coordinate));
    if (used.length === 0) return [];
    // Coordinates of one request are counted once each: the most used one bounds the requests.
    const count = Math.max(...used.map(([, use]) => use.count));
    const lastSeen = used
      .map(([, use]) => use.lastSeen)
      .sort()
      .at(-1)!;
    return [{ name, version, count, lastSeen }];
  });
  return { operations, clients };
}

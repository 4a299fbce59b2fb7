import {
  type DocumentNode,
  type GraphQLSchema,
  Kind,
  type Location,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from "graphql";

/**
 * The schema coordinate of what a lint message points at, spelled as router/usage/coordinates.ts
 * spells them (`Type`, `Type.field`, `Type.field(arg:)`, `Input.field`, `Enum.VALUE`, `@dir`,
 * `@dir(arg:)`), so a lint finding and a diff finding on the same element share a coordinate.
 */

type Located = { loc?: Location };

const contains = (node: Located | undefined, offset: number): boolean =>
  !!node?.loc && node.loc.start <= offset && offset < node.loc.end;

/** 0-based offset of a 1-based line and column (ESLint's), or -1 past the end. */
export function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let current = 1; current < line; current++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return -1;
    offset = next + 1;
  }
  return offset + column - 1;
}

/** `Input.field` or `Enum.VALUE` when `offset` is on one of `members`, else the type. */
function memberCoordinate(
  type: string,
  members: readonly (Located & { name: { value: string } })[] | undefined,
  offset: number,
): string {
  const member = members?.find((node) => contains(node, offset));
  return member ? `${type}.${member.name.value}` : type;
}

/** In an SDL document: the innermost type, field, argument, input field or enum value at `offset`. */
export function sdlCoordinateAt(document: DocumentNode, offset: number): string | undefined {
  const definition = document.definitions.find((node) => contains(node, offset));
  if (!definition) return undefined;
  switch (definition.kind) {
    case Kind.OBJECT_TYPE_DEFINITION:
    case Kind.OBJECT_TYPE_EXTENSION:
    case Kind.INTERFACE_TYPE_DEFINITION:
    case Kind.INTERFACE_TYPE_EXTENSION: {
      const type = definition.name.value;
      const field = definition.fields?.find((node) => contains(node, offset));
      if (!field) return type;
      const argument = field.arguments?.find((node) => contains(node, offset));
      return argument
        ? `${type}.${field.name.value}(${argument.name.value}:)`
        : `${type}.${field.name.value}`;
    }
    case Kind.INPUT_OBJECT_TYPE_DEFINITION:
    case Kind.INPUT_OBJECT_TYPE_EXTENSION:
      return memberCoordinate(definition.name.value, definition.fields, offset);
    case Kind.ENUM_TYPE_DEFINITION:
    case Kind.ENUM_TYPE_EXTENSION:
      return memberCoordinate(definition.name.value, definition.values, offset);
    case Kind.UNION_TYPE_DEFINITION:
    case Kind.UNION_TYPE_EXTENSION:
    case Kind.SCALAR_TYPE_DEFINITION:
    case Kind.SCALAR_TYPE_EXTENSION:
      return definition.name.value;
    case Kind.DIRECTIVE_DEFINITION: {
      const argument = definition.arguments?.find((node) => contains(node, offset));
      return argument ? `@${definition.name.value}(${argument.name.value}:)` : `@${definition.name.value}`;
    }
    default:
      return undefined;
  }
}

/**
 * In an operation: the schema field (or field argument) selected at `offset`, resolved against the
 * API schema (`User.email` for `me { email }`), or undefined when the position is not on a field.
 */
export function operationCoordinateAt(
  schema: GraphQLSchema,
  document: DocumentNode,
  offset: number,
): string | undefined {
  const typeInfo = new TypeInfo(schema);
  let coordinate: string | undefined;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && contains(node.name, offset)) coordinate = `${parent.name}.${node.name.value}`;
      },
      Argument(node) {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field && contains(node, offset))
          coordinate = `${parent.name}.${field.name}(${node.name.value}:)`;
      },
    }),
  );
  return coordinate;
}

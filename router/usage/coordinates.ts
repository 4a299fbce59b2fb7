import {
  type DocumentNode,
  getNamedType,
  type GraphQLInputType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInputType,
  isListType,
  isNonNullType,
  Kind,
  typeFromAST,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from "graphql";

/**
 * What a client's operation touches in the API schema, as schema coordinates (the GraphQL schema
 * coordinates RFC): `Type.field` for every selected field (on the type the selection is made on,
 * so an interface field is `Node.id`), `Type.field(arg:)` for every argument given, `Input.field`
 * for every input-object field given, `Enum.VALUE` for every enum value given, and `Type` for every
 * type condition (`... on Other`). The router records these per client as usage; `orion schema
 * check` matches a schema change against them, so both must agree on one spelling.
 *
 * Values given through variables are not in the document: `variableCoordinates` adds them.
 */
export function documentCoordinates(schema: GraphQLSchema, document: DocumentNode): Set<string> {
  const coordinates = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (!parent || node.name.value.startsWith("__")) return;
        coordinates.add(`${parent.name}.${node.name.value}`);
      },
      Argument(node) {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field) coordinates.add(`${parent.name}.${field.name}(${node.name.value}:)`);
        else {
          const directive = typeInfo.getDirective();
          if (directive) coordinates.add(`@${directive.name}(${node.name.value}:)`);
        }
      },
      ObjectField(node) {
        const parent = typeInfo.getParentInputType();
        const named = parent && getNamedType(parent);
        if (named && isInputObjectType(named)) coordinates.add(`${named.name}.${node.name.value}`);
      },
      EnumValue(node) {
        const type = typeInfo.getInputType();
        const named = type && getNamedType(type);
        if (named && isEnumType(named)) coordinates.add(`${named.name}.${node.value}`);
      },
      InlineFragment(node) {
        if (node.typeCondition) coordinates.add(node.typeCondition.name.value);
      },
      FragmentDefinition(node) {
        coordinates.add(node.typeCondition.name.value);
      },
      Directive(node) {
        coordinates.add(`@${node.name.value}`);
      },
    }),
  );
  return coordinates;
}

/**
 * The input-object fields and enum values a request's variables carry, walked along the types the
 * operation declares for them (values already coerced by the router, so their shapes are sound).
 */
export function variableCoordinates(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  into: Set<string> = new Set(),
): Set<string> {
  if (!variables) return into;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    for (const variable of definition.variableDefinitions ?? []) {
      const value = variables[variable.variable.name.value];
      const type = typeFromAST(schema, variable.type);
      if (type && isInputType(type)) walkValue(type, value, into);
    }
  }
  return into;
}

function walkValue(type: GraphQLInputType, value: unknown, into: Set<string>): void {
  if (value === null || value === undefined) return;
  if (isNonNullType(type)) return walkValue(type.ofType, value, into);
  if (isListType(type)) {
    for (const item of Array.isArray(value) ? value : [value]) walkValue(type.ofType, item, into);
    return;
  }
  if (isEnumType(type) && typeof value === "string") into.add(`${type.name}.${value}`);
  else if (isInputObjectType(type) && typeof value === "object") {
    const fields = type.getFields();
    for (const [name, fieldValue] of Object.entries(value as Record<string, unknown>)) {
      const field = fields[name];
      if (!field) continue;
      into.add(`${type.name}.${name}`);
      walkValue(field.type, fieldValue, into);
    }
  }
}

import "reflect-metadata";

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

import {
  buildSchema,
  execute,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isIntrospectionType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  parse,
} from "graphql";

import { SUBGRAPH_NAMES, type SubgraphName } from "../../platform/config";
import { MAX_STRING_LENGTH } from "../../platform/graphql/input-guard";
import { SCHEMA_DIR } from "../../platform/paths";
import { SUBGRAPHS } from "../../subgraphs";

/**
 * Every piece of text a client can send (a String, ID or JSONObject argument, or one inside an input
 * object or list) is refused with BAD_USER_INPUT naming it when it holds a NUL, an unpaired
 * surrogate or too many characters (IDs: anything but a UUID), by the subgraph that resolves it,
 * before any resolver runs. The walk reads the public API schema (schema/api.graphql); nothing is
 * listed by hand, so a new argument is covered or this fails. Each case executes the subgraph's real
 * schema with no database behind it: a value the input layer lets through reaches a resolver that
 * fails with something else than BAD_USER_INPUT.
 */

type TextKind = "String" | "ID" | "JSONObject";
const TEXT_KINDS = new Set<string>(["String", "ID", "JSONObject"]);

interface Position {
  /** `Mutation.register(input.displayName)`, for the report. */
  coordinate: string;
  type: string;
  field: GraphQLField<unknown, unknown>;
  /** Argument name, then input field names and list indexes. */
  path: (string | number)[];
  kind: TextKind;
}

const apiSchema = buildSchema(readFileSync(path.join(SCHEMA_DIR, "api.graphql"), "utf8"));

/** Every place text can enter through the arguments of `field`. */
function textPositions(type: string, field: GraphQLField<unknown, unknown>): Position[] {
  const found: Position[] = [];
  const walk = (inputType: GraphQLInputType, at: (string | number)[], seen: Set<string>) => {
    if (isNonNullType(inputType)) return walk(inputType.ofType, at, seen);
    if (isListType(inputType)) return walk(inputType.ofType as GraphQLInputType, [...at, 0], seen);
    if (isScalarType(inputType) && TEXT_KINDS.has(inputType.name)) {
      const coordinate = `${type}.${field.name}(${at.join(".")})`;
      found.push({ coordinate, type, field, path: at, kind: inputType.name as TextKind });
    }
    if (isInputObjectType(inputType) && !seen.has(inputType.name))
      for (const inner of Object.values(inputType.getFields()))
        walk(inner.type, [...at, inner.name], new Set([...seen, inputType.name]));
  };
  for (const arg of field.args) walk(arg.type, [arg.name], new Set());
  return found;
}

function apiTextPositions(): Position[] {
  return Object.values(apiSchema.getTypeMap())
    .filter((type) => isObjectType(type) && !isIntrospectionType(type))
    .flatMap((type) =>
      Object.values((type as ReturnType<GraphQLSchema["getQueryType"]> & {}).getFields()).flatMap((field) =>
        textPositions(type.name, field),
      ),
    );
}

/** A value the schema accepts for `type` (every required input field filled, optional ones left out). */
function validValue(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return validValue(type.ofType);
  if (isListType(type)) return [validValue(type.ofType as GraphQLInputType)];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type))
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((inner) => isNonNullType(inner.type) && inner.defaultValue === undefined)
        .map((inner) => [inner.name, validValue(inner.type)]),
    );
  const samples: Record<string, unknown> = {
    String: "text",
    ID: randomUUID(),
    JSONObject: {},
    DateTime: new Date().toISOString(),
    Int: 1,
    Float: 1,
    Boolean: true,
  };
  if (!(type.name in samples)) throw new Error(`no sample value for the scalar ${type.name}`);
  return samples[type.name];
}

/** `value` (a valid value of `type`, or undefined) with `bad` placed at `at`. */
function place(type: GraphQLInputType, value: unknown, at: (string | number)[], bad: unknown): unknown {
  if (isNonNullType(type)) return place(type.ofType, value, at, bad);
  if (at.length === 0) return bad;
  const [key, ...rest] = at;
  if (isListType(type)) {
    const list = Array.isArray(value) ? [...(value as unknown[])] : [];
    list[key as number] = place(type.ofType as GraphQLInputType, list[key as number], rest, bad);
    return list;
  }
  if (!isInputObjectType(type)) throw new Error(`cannot step into ${String(type)} at ${String(key)}`);
  const inner = type.getFields()[key as string]!.type;
  const object = { ...((value ?? validValue(type)) as Record<string, unknown>) };
  object[key as string] = place(inner, object[key as string] ?? validValue(inner), rest, bad);
  return object;
}

/** The field's arguments with `bad` placed at `position.path`, everything else valid. */
function argumentsWith(position: Position, bad: unknown): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const arg of position.field.args) {
    if (arg.name === position.path[0])
      args[arg.name] = place(arg.type, undefined, position.path.slice(1), bad);
    else if (isNonNullType(arg.type) && arg.defaultValue === undefined) args[arg.name] = validValue(arg.type);
  }
  return args;
}

/** The operation that calls the field with its arguments as variables: at the root, or through `_entities`. */
function operationFor(position: Position, subgraph: GraphQLSchema) {
  const { field } = position;
  const declared = field.args.map((arg) => `$${arg.name}: ${String(arg.type)}`);
  const call = `${field.name}(${field.args.map((arg) => `${arg.name}: $${arg.name}`).join(", ")})`;
  const selection = isScalarType(field.type) || isEnumType(field.type) ? "" : " { __typename }";
  if (position.type === "Query" || position.type === "Mutation") {
    const kind = position.type === "Query" ? "query" : "mutation";
    return { source: `${kind}(${declared.join(", ")}) { ${call}${selection} }`, extra: {} };
  }
  if (!subgraph.getType(position.type)) throw new Error(`${position.type} is not an entity here`);
  return {
    source: `query($representations: [_Any!]!, ${declared.join(", ")}) { _entities(representations: $representations) { ... on ${position.type} { ${call}${selection} } } }`,
    extra: { representations: [{ __typename: position.type, id: randomUUID() }] },
  };
}

const BAD_VALUES: Record<TextKind, { label: string; value: unknown }[]> = {
  String: [
    { label: "a NUL character", value: "before\u0000after" },
    { label: "an unpaired surrogate", value: "half \ud83d of an emoji" },
    { label: "too many characters", value: "x".repeat(MAX_STRING_LENGTH + 1) },
  ],
  ID: [
    { label: "a malformed id", value: "not-a-uuid" },
    { label: "a NUL character", value: `${randomUUID()}\u0000` },
  ],
  JSONObject: [
    { label: "a NUL character in a value", value: { key: "a\u0000b" } },
    { label: "an unpaired surrogate in a key", value: { ["\udc00"]: 1 } },
  ],
};

/** A session of an ADMIN: every permission rule passes, so only the input layer can refuse. */
const ADMIN_CONTEXT = {
  identity: {
    kind: "user",
    userId: randomUUID(),
    roles: ["ADMIN"],
    sessionId: randomUUID(),
    apiKeyId: null,
    scopes: null,
  },
};

describe("the input layer covers every text input of the API", () => {
  const subgraphs = {} as Record<SubgraphName, GraphQLSchema>;
  beforeAll(() => {
    for (const name of SUBGRAPH_NAMES) subgraphs[name] = SUBGRAPHS[name].buildSchema();
  });

  /** The subgraph that resolves the field (with these arguments): one of the four. */
  function resolvingSubgraph(position: Position): SubgraphName | undefined {
    return SUBGRAPH_NAMES.find((name) => {
      const type = subgraphs[name].getType(position.type);
      const field = isObjectType(type) ? type.getFields()[position.field.name] : undefined;
      return field !== undefined && field.args.length === position.field.args.length;
    });
  }

  const positions = apiTextPositions();

  it("finds the text inputs in the API schema (the walk is not empty)", () => {
    const coordinates = positions.map((p) => p.coordinate);
    expect(coordinates).toEqual(
      expect.arrayContaining([
        "Mutation.register(input.displayName)",
        "Mutation.updateProfile(input.bio)",
        "Mutation.createApiKey(input.name)",
        "Mutation.sendNotification(input.userIds.0)",
        "Mutation.trackEvent(input.properties)",
        "Query.users(search)",
        "Query.user(id)",
        "User.notifications(after)",
      ]),
    );
  });

  it.each(positions.map((position) => [position.coordinate, position] as const))(
    "%s: refuses malformed text with BAD_USER_INPUT naming it",
    async (_coordinate, position) => {
      const subgraph = resolvingSubgraph(position);
      expect({ field: position.coordinate, subgraph }).toEqual({
        field: position.coordinate,
        subgraph: expect.any(String),
      });
      const schema = subgraphs[subgraph!];
      const { source, extra } = operationFor(position, schema);
      const expectedField = position.path.join(".");
      for (const { label, value } of BAD_VALUES[position.kind]) {
        const result = await execute({
          schema,
          document: parse(source),
          variableValues: { ...extra, ...argumentsWith(position, value) },
          contextValue: ADMIN_CONTEXT,
        });
        const errors = (result.errors ?? []).map((error) => ({
          code: error.extensions.code,
          field: error.extensions.field,
        }));
        expect({ label, errors }).toEqual({
          label,
          errors: [{ code: "BAD_USER_INPUT", field: expectedField }],
        });
      }
    },
  );
});

import {
  type GraphQLInputType,
  type GraphQLSchema,
  isEnumType,
  isIntrospectionType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from "graphql";
import type { IMiddlewareFunction, IMiddlewareTypeMap } from "graphql-middleware";

import { isUuid } from "../database/loaders";
import { badUserInput } from "../errors";

/**
 * The longest string any argument or input field takes (decision 004). Far above every real value
 * (names, bios, notification bodies); a field with a tighter zod rule keeps that one.
 */
export const MAX_STRING_LENGTH = 10_000;

// U+0000: PostgreSQL's text and jsonb cannot hold it. A lone surrogate: not Unicode, so no UTF-8
// encoding exists for it (PostgreSQL, logs and other clients would each mangle it differently).
const NUL = "\u0000";
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws BAD_USER_INPUT naming `field` when `value` is not a string the platform can store and show. */
export function checkText(value: string, field: string): void {
  if (value.length > MAX_STRING_LENGTH)
    throw badUserInput(field, `${field}: must be at most ${MAX_STRING_LENGTH} characters`);
  if (value.includes(NUL)) throw badUserInput(field, `${field}: must not contain the NUL character (U+0000)`);
  if (LONE_SURROGATE.test(value))
    throw badUserInput(field, `${field}: must be valid Unicode (it holds an unpaired surrogate)`);
}

/** Every ID of the API is a UUID: anything else names nothing, and is the caller's mistake. */
function checkId(value: string, field: string): void {
  checkText(value, field);
  if (!isUuid(value)) throw badUserInput(field, `${field}: must be an id (a UUID)`);
}

/** Strings anywhere in a JSON value, keys included; the error names the schema field, not the JSON path. */
function checkJson(value: unknown, field: string): void {
  if (typeof value === "string") return checkText(value, field);
  if (Array.isArray(value)) return value.forEach((item) => checkJson(item, field));
  if (value && typeof value === "object")
    for (const [key, item] of Object.entries(value)) {
      checkText(key, field);
      checkJson(item, field);
    }
}

type Check = (value: unknown, field: string) => void;
// graphql-middleware's resolver form (its type is not exported by name).
type MiddlewareResolver = Extract<IMiddlewareFunction, (...args: never[]) => unknown>;

/**
 * How each scalar an argument can hold is checked. A scalar missing here fails the schema build, so
 * a new one cannot slip past the guard: it must say whether its values reach resolvers as text.
 */
const SCALAR_CHECKS: Record<string, Check | null> = {
  String: (value, field) => checkText(value as string, field),
  ID: (value, field) => checkId(String(value), field),
  JSONObject: checkJson,
  // Parsed into a Date, a number or a boolean before a resolver sees it: no text left to check.
  DateTime: null,
  Int: null,
  Float: null,
  Boolean: null,
  // Federation's entity representations come from the router's own plan, not from a client's text.
  _Any: null,
};

/** A check for values of `type` (null: nothing in it is text), memoised per named type. */
function checkFor(type: GraphQLInputType, memo: Map<string, Check | null>): Check | null {
  if (isNonNullType(type)) return checkFor(type.ofType, memo);
  if (isListType(type)) {
    const item = checkFor(type.ofType as GraphQLInputType, memo);
    if (!item) return null;
    return (value, field) => {
      if (!Array.isArray(value)) return item(value, field); // a single value coerced into the list
      value.forEach((element, index) => element != null && item(element, `${field}.${index}`));
    };
  }
  if (memo.has(type.name)) return memo.get(type.name)!;
  if (isEnumType(type)) return null;
  if (isScalarType(type)) {
    if (!(type.name in SCALAR_CHECKS))
      throw new Error(`input guard: no rule for the scalar ${type.name}; add it to SCALAR_CHECKS`);
    return SCALAR_CHECKS[type.name]!;
  }
  // An input object: placeholder first, so a recursive input type refers to its own check.
  const fieldChecks: [string, Check][] = [];
  const check: Check = (value, field) => {
    if (!value || typeof value !== "object") return;
    for (const [name, fieldCheck] of fieldChecks) {
      const fieldValue = (value as Record<string, unknown>)[name];
      if (fieldValue != null) fieldCheck(fieldValue, `${field}.${name}`);
    }
  };
  memo.set(type.name, check);
  for (const inputField of Object.values(type.getFields())) {
    const fieldCheck = checkFor(inputField.type, memo);
    if (fieldCheck) fieldChecks.push([inputField.name, fieldCheck]);
  }
  if (fieldChecks.length === 0) memo.set(type.name, null);
  return fieldChecks.length === 0 ? null : check;
}

/**
 * One input layer for every subgraph: a graphql-middleware map holding, for each field whose
 * arguments carry text (String, ID, JSONObject, directly or inside input objects and lists), a
 * check that runs before the field's resolver and its permission rule. NUL characters, unpaired
 * surrogates, strings over MAX_STRING_LENGTH and IDs that are not UUIDs are BAD_USER_INPUT with
 * `extensions.field` naming the argument path (`input.displayName`, `input.userIds.2`).
 */
export function inputGuard(schema: GraphQLSchema): IMiddlewareTypeMap {
  const memo = new Map<string, Check | null>();
  const guard: Record<string, Record<string, MiddlewareResolver>> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const checks = field.args.flatMap((arg) => {
        const check = checkFor(arg.type, memo);
        return check ? [[arg.name, check] as const] : [];
      });
      if (checks.length === 0) continue;
      guard[type.name] ??= {};
      guard[type.name]![field.name] = (resolve, parent, args: Record<string, unknown>, context, info) => {
        for (const [name, check] of checks) if (args[name] != null) check(args[name], name);
        return resolve(parent, args, context, info);
      };
    }
  }
  return guard;
}

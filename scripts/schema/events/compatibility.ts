import { isDeepStrictEqual } from "node:util";

import { dereference, isObject, type JsonSchema, type Located, sameSet } from "./json-schema";

/** Which changes a committed type+version may take; shown in schema/events.md. */
export const COMPATIBILITY_RULES = [
  "A committed `schema/events/<type>.v<version>.json` is the contract for that version: producers keep sending, and consumers keep accepting, exactly what it describes. Consumers validate payloads at runtime and dead-letter what does not validate, and messages of a version outlive a deploy (queues, dead letters, replays), so the check holds both directions.",
  "**Compatible** (the file is regenerated): adding an **optional** property to an object that does not forbid extra properties (consumers of the old schema ignore unknown keys: zod objects strip them); changing titles, descriptions or other annotations.",
  "**Incompatible** (needs a new version): removing a property (required or optional); adding a required property; making an optional property required; making a required property optional; changing a property's type, format, enum set or const, nullability, default, union members or item schema; adding a property to a closed object (`additionalProperties: false`).",
  "**Widening is incompatible too**: dropping or relaxing a bound (`maxLength`, `minLength`, `minimum`, `maximum`, `pattern`, ...) or adding an enum value lets producers send what consumers of the old schema reject; tightening one rejects messages already in flight. A `pattern` that only implements an unchanged `format` (zod's uuid/email/date-time regexes) is not compared: the format is the contract.",
  "A new version is a new definition (`defineEvent(type, version + 1, ...)`) and a new file. Queues are bound by type, so a queue receives every version of the types it lists and dead-letters a version it has no handler for. Move in three steps: consumers add a handler for the new version next to the old one (`consumer(queue, [on(V1, ...), on(V2, ...)])`: each version is validated against its own schema and handled by its own handler), then the producer publishes the new version (`npm run check:schema` fails while a queue bound to the type has no handler for a published version), then, once no old message is left in any queue or dead-letter queue, the old handler and definition go. Retire a version by removing its definition and deleting its file in the same change: `npm run check:schema` fails while a committed file has no definition.",
];

/** JSON Schema keywords that document and never change what validates. */
const ANNOTATIONS = new Set([
  "$schema",
  "$id",
  "$comment",
  "title",
  "description",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
]);

/**
 * Why a message valid under `next` might not be valid under `previous`, or the reverse, beyond the
 * compatible changes (see COMPATIBILITY_RULES). Empty when `next` may replace `previous`.
 */
export function compatibilityProblems(previous: JsonSchema, next: JsonSchema): string[] {
  const problems: string[] = [];
  compareSchemas(
    { node: previous, root: previous },
    { node: next, root: next },
    "payload",
    problems,
    new Set(),
  );
  return problems;
}

function show(value: unknown): string {
  return value === undefined ? "none" : JSON.stringify(value);
}

const LOWER_BOUNDS = new Set(["minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"]);
const UPPER_BOUNDS = new Set(["maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"]);

function boundChange(keyword: string, before: unknown, after: unknown): string {
  const lower = LOWER_BOUNDS.has(keyword);
  if (!lower && !UPPER_BOUNDS.has(keyword)) return "";
  if (typeof before === "number" && typeof after === "number")
    return (lower ? after > before : after < before) ? " (narrowing)" : " (widening)";
  return after === undefined ? " (widening)" : " (narrowing)";
}

function compareSchemas(
  previous: Located,
  next: Located,
  at: string,
  problems: string[],
  visited: Set<string>,
): void {
  const a = dereference(previous);
  const b = dereference(next);
  if (a.refs.length > 0 || b.refs.length > 0) {
    const pair = `${a.refs.join(",")}|${b.refs.join(",")}`;
    if (visited.has(pair)) return; // a recursive schema: this pair is already being compared further up
    visited = new Set(visited).add(pair);
  }
  const before = a.node;
  const after = b.node;
  if (!isObject(before) || !isObject(after)) {
    if (!isDeepStrictEqual(before, after))
      problems.push(`${at}: schema changed from ${show(before)} to ${show(after)}`);
    return;
  }
  const child = (prev: unknown, nxt: unknown, where: string) =>
    compareSchemas(
      { node: prev, root: previous.root },
      { node: nxt, root: next.root },
      where,
      problems,
      visited,
    );

  const keywords = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (k) => !ANNOTATIONS.has(k) && !k.startsWith("x-") && k !== "$defs" && k !== "definitions",
  );
  const sameFormat = before.format !== undefined && before.format === after.format;

  for (const keyword of keywords) {
    const x = before[keyword];
    const y = after[keyword];
    switch (keyword) {
      case "properties":
      case "required":
        break; // together, below
      case "pattern":
        if (!sameFormat && x !== y) problems.push(`${at}: pattern changed from ${show(x)} to ${show(y)}`);
        break;
      case "enum": {
        if (sameSet(x, y)) break;
        if (!Array.isArray(x) || !Array.isArray(y)) {
          problems.push(`${at}: enum changed from ${show(x)} to ${show(y)}`);
          break;
        }
        const lost = x.filter((v) => !y.some((w) => isDeepStrictEqual(v, w)));
        const gained = y.filter((v) => !x.some((w) => isDeepStrictEqual(v, w)));
        if (lost.length > 0) problems.push(`${at}: enum value(s) removed: ${lost.map(show).join(", ")}`);
        if (gained.length > 0) problems.push(`${at}: enum value(s) added: ${gained.map(show).join(", ")}`);
        break;
      }
      case "type":
        if (!sameSet(typeof x === "string" ? [x] : x, typeof y === "string" ? [y] : y))
          problems.push(`${at}: type changed from ${show(x)} to ${show(y)}`);
        break;
      case "items":
      case "additionalProperties":
      case "unevaluatedProperties":
      case "unevaluatedItems":
      case "propertyNames":
      case "contains":
      case "not":
        if (isObject(x) && isObject(y)) child(x, y, keyword === "items" ? `${at}[]` : `${at} (${keyword})`);
        else if (!isDeepStrictEqual(x, y))
          problems.push(`${at}: ${keyword} changed from ${show(x)} to ${show(y)}`);
        break;
      case "anyOf":
      case "oneOf":
      case "allOf":
      case "prefixItems":
        if (Array.isArray(x) && Array.isArray(y) && x.length === y.length)
          x.forEach((member, i) => child(member, y[i], `${at} (${keyword}[${i}])`));
        else
          problems.push(
            `${at}: ${keyword} changed from ${Array.isArray(x) ? `${x.length} member(s)` : "none"} to ${Array.isArray(y) ? `${y.length} member(s)` : "none"}`,
          );
        break;
      case "patternProperties":
        if (isObject(x) && isObject(y) && sameSet(Object.keys(x), Object.keys(y)))
          for (const pattern of Object.keys(x)) child(x[pattern], y[pattern], `${at} (/${pattern}/)`);
        else problems.push(`${at}: patternProperties changed`);
        break;
      default:
        if (!isDeepStrictEqual(x, y))
          problems.push(
            `${at}: ${keyword} changed from ${show(x)} to ${show(y)}${boundChange(keyword, x, y)}`,
          );
    }
  }

  const oldProperties = isObject(before.properties) ? before.properties : {};
  const newProperties = isObject(after.properties) ? after.properties : {};
  const oldRequired = new Set(Array.isArray(before.required) ? before.required : []);
  const newRequired = new Set(Array.isArray(after.required) ? after.required : []);
  for (const name of Object.keys(oldProperties)) {
    if (!(name in newProperties))
      problems.push(`${at}.${name}: property removed${oldRequired.has(name) ? "" : " (it was optional)"}`);
  }
  for (const name of Object.keys(newProperties)) {
    const where = `${at}.${name}`;
    if (!(name in oldProperties)) {
      if (newRequired.has(name)) problems.push(`${where}: required property added`);
      else if (before.additionalProperties === false)
        problems.push(`${where}: property added to an object that forbids extra properties`);
      continue;
    }
    if (!oldRequired.has(name) && newRequired.has(name))
      problems.push(`${where}: optional property became required`);
    if (oldRequired.has(name) && !newRequired.has(name))
      problems.push(`${where}: required property became optional`);
    child(oldProperties[name], newProperties[name], where);
  }
}

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import path from "node:path";
import { z } from "zod";
import type { EventDefinition } from "../platform/events/event-bus";
import { SCHEMA_DIR } from "../platform/paths";
import type { ConsumerServices } from "../platform/subgraph";
import { SUBGRAPHS } from "../subgraphs";

/**
 * The event catalogue, generated from code: every definition in a subgraph's `publishes` list, who
 * consumes it (queues whose subscription lists its type) and its payload as JSON Schema.
 *
 * - `schema/events/<type>.v<version>.json`: one JSON Schema per type and version. The committed file
 *   is the contract consumers of that version rely on; `compatibilityProblems` decides which
 *   changes it may still take (see COMPATIBILITY_RULES) and anything else needs a new version.
 * - `schema/events.md`: the readable table, with the payload fields of each event.
 *
 * A contract file stays while its type+version is published; a version nobody publishes any more
 * fails the check until its file is deleted by hand (retiring a version is a decision, not a
 * side effect of regenerating).
 */

export const EVENTS_DIR_NAME = "events";
export const EVENTS_DOC_NAME = "events.md";

export type JsonSchema = boolean | { [keyword: string]: unknown };

export interface EventConsumer {
  subgraph: string;
  queue: string;
}

export interface CatalogueEvent {
  type: string;
  version: number;
  producers: string[];
  consumers: EventConsumer[];
  /** The payload as JSON Schema, with title and description: the content of its contract file. */
  schema: { [keyword: string]: unknown };
}

/** A queue and the event types bound to it: all the catalogue reads of a subscription. */
export interface QueueBinding {
  queue: string;
  eventTypes: readonly string[];
  /** The versions of each type the queue handles (platform consumers say; a plain binding takes all). */
  handlers?: ReadonlyMap<string, ReadonlyMap<number, unknown>>;
}

/** What the catalogue reads of a subgraph definition (nothing is started). */
export interface CatalogueSource {
  publishes: readonly EventDefinition[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  subscriptions?(services: ConsumerServices<any>): readonly QueueBinding[];
}

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

/** Relative path, under schema/, of the contract file of one type+version. */
export function eventSchemaPath(type: string, version: number): string {
  return `${EVENTS_DIR_NAME}/${type}.v${version}.json`;
}

/** The payload as JSON Schema: what a consumer validates against (zod input; unknown keys are stripped). */
export function payloadJsonSchema(payload: z.ZodType): { [keyword: string]: unknown } {
  return z.toJSONSchema(payload, { io: "input", target: "draft-2020-12" }) as { [keyword: string]: unknown };
}

const TYPE_PATTERN = /^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/;

/**
 * Anything subscriptions() might touch while building its list: property reads, calls and `new`
 * return the placeholder itself, so listing queues needs no database, dependencies or bus.
 */
function inertServices(): never {
  const placeholder: object = new Proxy(function () {}, {
    get: (_target, key) => {
      if (key === "then") return undefined;
      if (key === Symbol.toPrimitive) return () => "[event catalogue placeholder]";
      return placeholder;
    },
    apply: () => placeholder,
    construct: () => placeholder,
  });
  return { db: placeholder, deps: placeholder, bus: placeholder, logger: placeholder } as never;
}

/**
 * Reads every subgraph's `publishes` and `subscriptions` (nothing is started). Problems: a consumed
 * type nobody publishes, one type+version defined with two different payloads, a payload JSON
 * Schema cannot represent, a type or version unusable as a file name.
 */
export function collectEventCatalogue(subgraphs: Record<string, CatalogueSource> = SUBGRAPHS): {
  events: CatalogueEvent[];
  errors: string[];
} {
  const errors: string[] = [];
  const byKey = new Map<
    string,
    { type: string; version: number; producers: string[]; payload: JsonSchema }
  >();
  const names = Object.keys(subgraphs);

  for (const name of names) {
    for (const definition of subgraphs[name]!.publishes) {
      if (
        typeof definition?.type !== "string" ||
        typeof definition.version !== "number" ||
        !(definition.payload instanceof z.ZodType)
      ) {
        errors.push(`${name}: publishes lists something that is not an event definition (use defineEvent)`);
        continue;
      }
      const { type, version } = definition;
      const label = `${type} v${version} (published by ${name})`;
      if (!TYPE_PATTERN.test(type)) {
        errors.push(`${label}: event types are lower-case dot-separated words (a-z, 0-9, -)`);
        continue;
      }
      if (!Number.isInteger(version) || version < 1) {
        errors.push(`${label}: the version must be a positive integer`);
        continue;
      }
      let payload: JsonSchema;
      try {
        payload = payloadJsonSchema(definition.payload);
      } catch (error) {
        errors.push(
          `${label}: the payload cannot be written as JSON Schema (${error instanceof Error ? error.message : String(error)})`,
        );
        continue;
      }
      const key = `${type}@${version}`;
      const known = byKey.get(key);
      if (!known) byKey.set(key, { type, version, producers: [name], payload });
      else if (!isDeepStrictEqual(known.payload, payload))
        errors.push(
          `${type} v${version}: defined twice with different payloads (by ${[...known.producers, name].join(" and ")}); one type+version has one schema`,
        );
      else if (!known.producers.includes(name)) known.producers.push(name);
    }
  }

  const consumersByType = new Map<string, EventConsumer[]>();
  const handledVersions = new Map<string, Set<number>>();
  for (const name of names) {
    let subscriptions: readonly QueueBinding[];
    try {
      subscriptions = subgraphs[name]!.subscriptions?.(inertServices()) ?? [];
    } catch (error) {
      errors.push(
        `${name}: subscriptions() failed while listing its queues (${error instanceof Error ? error.message : String(error)})`,
      );
      continue;
    }
    for (const subscription of subscriptions) {
      for (const type of new Set(subscription.eventTypes)) {
        const list = consumersByType.get(type) ?? [];
        list.push({ subgraph: name, queue: subscription.queue });
        consumersByType.set(type, list);
        const versions = subscription.handlers?.get(type);
        if (versions) handledVersions.set(`${subscription.queue} ${type}`, new Set(versions.keys()));
      }
    }
  }
  /** A queue consumes a version when it has a handler for it (or handles the type without saying). */
  const consumesVersion = (consumer: EventConsumer, type: string, version: number) =>
    handledVersions.get(`${consumer.queue} ${type}`)?.has(version) ?? true;
  const publishedTypes = new Set([...byKey.values()].map((event) => event.type));
  for (const [type, consumers] of [...consumersByType].sort(([a], [b]) => compare(a, b))) {
    if (publishedTypes.has(type)) continue;
    const where = consumers.map((c) => `${c.subgraph} (queue ${c.queue})`).join(", ");
    errors.push(`${type}: consumed by ${where} but no subgraph publishes it`);
  }

  // Bindings are by type: a queue receives every published version of a type it lists, and one it
  // has no handler for is dead-lettered. Consumers move first (a handler for a version nobody
  // publishes yet is fine); a producer that moves first is caught here.
  for (const { type, version, producers } of [...byKey.values()].sort(
    (a, b) => compare(a.type, b.type) || a.version - b.version,
  )) {
    for (const consumer of consumersByType.get(type) ?? []) {
      if (consumesVersion(consumer, type, version)) continue;
      const handled = [...handledVersions.get(`${consumer.queue} ${type}`)!].sort((a, b) => a - b);
      errors.push(
        `${type} v${version}: published by ${producers.join(" and ")}, but ${consumer.subgraph} (queue ${consumer.queue}) handles v${handled.join(", v")} only and would dead-letter it`,
      );
    }
  }

  const events = [...byKey.values()]
    .sort((a, b) => compare(a.type, b.type) || a.version - b.version)
    .map(({ type, version, producers, payload }): CatalogueEvent => {
      const consumers = [...(consumersByType.get(type) ?? [])]
        .filter((consumer) => consumesVersion(consumer, type, version))
        .sort((a, b) => names.indexOf(a.subgraph) - names.indexOf(b.subgraph) || compare(a.queue, b.queue));
      return {
        type,
        version,
        producers,
        consumers,
        schema: contractSchema(type, version, producers, payload),
      };
    });
  return { events, errors };
}

function contractSchema(
  type: string,
  version: number,
  producers: string[],
  payload: JsonSchema,
): { [keyword: string]: unknown } {
  const body = typeof payload === "boolean" ? (payload ? {} : { not: {} }) : payload;
  const { $schema, description, ...rest } = body;
  return {
    $schema: $schema ?? "https://json-schema.org/draft/2020-12/schema",
    title: `${type} v${version}`,
    description:
      typeof description === "string"
        ? description
        : `Payload of the ${type} event, version ${version}, published by ${producers.join(", ")}. Generated by npm run schema:compose from its definition; this committed file is the contract for version ${version} (see schema/events.md).`,
    ...rest,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

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

interface Located {
  node: unknown;
  root: unknown;
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows local `$ref`s (`#`, `#/$defs/...`); sibling keywords of the reference are kept. */
function dereference(located: Located): { node: unknown; refs: string[] } {
  let node = located.node;
  const refs: string[] = [];
  while (isObject(node) && typeof node.$ref === "string" && !refs.includes(node.$ref) && refs.length < 32) {
    const ref = node.$ref;
    refs.push(ref);
    const { $ref: _ref, ...siblings } = node;
    let target: unknown = ref.startsWith("#") ? located.root : undefined;
    for (const part of ref.slice(1).split("/").filter(Boolean)) {
      const key = decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~");
      target = isObject(target) ? target[key] : undefined;
    }
    if (target === undefined) return { node, refs }; // not local: compared as written
    node = isObject(target) ? { ...target, ...siblings } : target;
  }
  return { node, refs };
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

function sameSet(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return isDeepStrictEqual(a, b);
  return (
    a.length === b.length &&
    a.every((x) => b.some((y) => isDeepStrictEqual(x, y))) &&
    b.every((y) => a.some((x) => isDeepStrictEqual(x, y)))
  );
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

/** The readable catalogue: one table, then the payload fields of each event. */
export function renderEventsMarkdown(events: CatalogueEvent[]): string {
  const lines: string[] = [
    "# Event catalogue",
    "",
    "Generated by `npm run schema:compose` from every subgraph's `publishes` list and subscriptions",
    "(definitions in `contracts/events/`, handlers in `subgraphs/*/events/`); do not edit.",
    "`npm run check:schema` fails when this file or a payload schema in `schema/events/` is stale, when",
    "a committed version's payload changed incompatibly, when a consumed event has no producer, or when",
    "one type+version has two schemas.",
    "",
    "Every event travels in one envelope: `id` (the AMQP `messageId`), `type`, `version`, `occurredAt`,",
    "`correlationId`, `producer` and `payload`. Consumers validate the payload against the definition",
    "they import. Queues are bound by event type: the consumers listed receive every version of the type.",
    "",
    "## Events",
    "",
    ...table(
      ["event", "version", "producer", "consumers (queue)", "payload schema"],
      events.map((event) => [
        code(event.type),
        String(event.version),
        event.producers.join(", "),
        consumersText(event.consumers),
        `[${path.basename(eventSchemaPath(event.type, event.version))}](${eventSchemaPath(event.type, event.version)})`,
      ]),
    ),
    "",
    "## Compatibility",
    "",
    ...COMPATIBILITY_RULES.map((rule) => `- ${rule}`),
  ];
  for (const event of events) {
    lines.push("", `## ${event.type} v${event.version}`, "");
    lines.push(
      `Producer: ${event.producers.join(", ")} · Consumers: ${consumersText(event.consumers)} · Schema: [${eventSchemaPath(event.type, event.version)}](${eventSchemaPath(event.type, event.version)})`,
    );
    const description = event.schema.description;
    if (typeof description === "string" && !description.startsWith(`Payload of the ${event.type} event,`))
      lines.push("", description);
    const rows = fieldRows(event.schema, event.schema, "", 0);
    lines.push("");
    if (rows.length === 0) lines.push(`Payload: ${describeType(event.schema, event.schema)}.`);
    else lines.push(...table(["field", "type", "required", "constraints", "description"], rows));
  }
  return `${lines.join("\n")}\n`;
}

function code(text: string): string {
  return `\`${text}\``;
}

function consumersText(consumers: EventConsumer[]): string {
  if (consumers.length === 0) return "none";
  return consumers.map((c) => `${c.subgraph} (${code(c.queue)})`).join(", ");
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows].map((row) => row.map(cell));
  const widths = header.map((_, i) => Math.max(3, ...all.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((text, i) => text.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(all[0]!), line(widths.map((w) => "-".repeat(w))), ...all.slice(1).map(line)];
}

function resolveLocal(node: unknown, root: unknown): { [key: string]: unknown } {
  const { node: resolved } = dereference({ node, root });
  return isObject(resolved) ? resolved : {};
}

function describeType(node: unknown, root: unknown): string {
  const schema = resolveLocal(node, root);
  for (const union of ["anyOf", "oneOf"]) {
    const members = schema[union];
    if (Array.isArray(members)) return members.map((m) => describeType(m, root)).join(" | ");
  }
  const types = Array.isArray(schema.type)
    ? schema.type.map(String)
    : schema.type
      ? [String(schema.type)]
      : [];
  let text = types.length > 0 ? types.join(" | ") : "any";
  if (typeof schema.format === "string") text += ` (${schema.format})`;
  if (types.includes("array")) text = `array of ${describeType(schema.items, root)}`;
  return text;
}

function constraints(schema: { [key: string]: unknown }): string {
  const parts: string[] = [];
  if (Array.isArray(schema.enum))
    parts.push(`one of ${schema.enum.map((v) => code(JSON.stringify(v))).join(", ")}`);
  if (schema.const !== undefined) parts.push(`exactly ${code(JSON.stringify(schema.const))}`);
  const range = (min: unknown, max: unknown, unit: string) => {
    if (min !== undefined && max !== undefined) parts.push(`${unit} ${String(min)}–${String(max)}`);
    else if (min !== undefined) parts.push(`${unit} ≥ ${String(min)}`);
    else if (max !== undefined) parts.push(`${unit} ≤ ${String(max)}`);
  };
  range(schema.minLength, schema.maxLength, "length");
  range(schema.minimum, schema.maximum, "value");
  range(schema.minItems, schema.maxItems, "items");
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${String(schema.exclusiveMinimum)}`);
  if (schema.exclusiveMaximum !== undefined) parts.push(`< ${String(schema.exclusiveMaximum)}`);
  if (typeof schema.pattern === "string" && schema.format === undefined)
    parts.push(`matches ${code(schema.pattern)}`);
  if (schema.default !== undefined) parts.push(`default ${code(JSON.stringify(schema.default))}`);
  return parts.join("; ");
}

/** One row per property, nested objects (and objects in arrays) flattened as `a.b` / `a[].b`. */
function fieldRows(node: unknown, root: unknown, prefix: string, depth: number): string[][] {
  const schema = resolveLocal(node, root);
  const properties = isObject(schema.properties) ? schema.properties : undefined;
  if (!properties || depth > 8) return [];
  const requiredSet = new Set(Array.isArray(schema.required) ? schema.required : []);
  const rows: string[][] = [];
  for (const [name, child] of Object.entries(properties)) {
    const field = resolveLocal(child, root);
    const fieldPath = `${prefix}${name}`;
    rows.push([
      code(fieldPath),
      describeType(field, root),
      requiredSet.has(name) ? "yes" : "no",
      constraints(field),
      typeof field.description === "string" ? field.description : "",
    ]);
    rows.push(...fieldRows(field, root, `${fieldPath}.`, depth + 1));
    const items = resolveLocal(field.items, root);
    if (isObject(items.properties)) rows.push(...fieldRows(items, root, `${fieldPath}[].`, depth + 1));
  }
  return rows;
}

export interface CatalogueSync {
  /** Problems that no regeneration fixes: each names its event. */
  errors: string[];
  /** Files (relative to schema/) that differ from the code; only in check mode. */
  stale: string[];
  /** Files (relative to schema/) written; only in write mode. */
  written: string[];
}

/**
 * Compares the catalogue generated from code with the files under `schemaDir`: in check mode it
 * reports what is stale, otherwise it writes it. Either way a committed contract file is never
 * replaced by an incompatible schema, never deleted, and nothing is written while errors remain.
 */
export function syncEventCatalogue(
  options: { check: boolean; schemaDir?: string; subgraphs?: Record<string, CatalogueSource> } = {
    check: true,
  },
): CatalogueSync {
  const schemaDir = options.schemaDir ?? SCHEMA_DIR;
  const { events, errors } = collectEventCatalogue(options.subgraphs);
  const eventsDir = path.join(schemaDir, EVENTS_DIR_NAME);
  const committed = existsSync(eventsDir)
    ? readdirSync(eventsDir)
        .filter((file) => file.endsWith(".json"))
        .sort()
    : [];

  const files: Record<string, string> = {};
  for (const event of events) {
    const file = eventSchemaPath(event.type, event.version);
    const content = `${JSON.stringify(event.schema, null, 2)}\n`;
    const target = path.join(schemaDir, file);
    if (existsSync(target)) {
      let contract: JsonSchema;
      try {
        contract = JSON.parse(readFileSync(target, "utf8")) as JsonSchema;
      } catch (error) {
        errors.push(
          `${event.type} v${event.version}: schema/${file} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
        );
        continue;
      }
      const problems = compatibilityProblems(contract, event.schema);
      if (problems.length > 0) {
        errors.push(
          `${event.type} v${event.version}: the payload changed incompatibly with its committed contract schema/${file}:\n` +
            problems.map((p) => `      ${p}`).join("\n") +
            `\n    Keep v${event.version} as it is and publish the change as a new version (defineEvent("${event.type}", ${event.version + 1}, ...)).`,
        );
        continue;
      }
    }
    files[file] = content;
  }

  const generated = new Set(events.map((event) => path.basename(eventSchemaPath(event.type, event.version))));
  for (const file of committed) {
    if (generated.has(file)) continue;
    errors.push(
      `schema/${EVENTS_DIR_NAME}/${file}: no subgraph publishes this event version any more. Consumers may still rely on it: ` +
        `keep its definition in a publishes list, or retire it by deleting the file in the same change.`,
    );
  }

  files[EVENTS_DOC_NAME] = renderEventsMarkdown(events);
  const result: CatalogueSync = { errors, stale: [], written: [] };
  if (errors.length > 0) return result;
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(schemaDir, file);
    const current = existsSync(target) ? readFileSync(target, "utf8") : null;
    if (current === content) continue;
    if (options.check) result.stale.push(file);
    else {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, content);
      result.written.push(file);
    }
  }
  return result;
}

import { isDeepStrictEqual } from "node:util";

import { z } from "zod";

import type { EventDefinition } from "../../../platform/events/event-bus";
import type { ConsumerServices } from "../../../platform/subgraph";
import { SUBGRAPHS } from "../../../subgraphs";
import type { JsonSchema } from "./json-schema";

/**
 * The event catalogue, generated from code: every definition in a subgraph's `publishes` list, who
 * consumes it (queues whose subscription lists its type) and its payload as JSON Schema.
 *
 * - `schema/events/<type>.v<version>.json`: one JSON Schema per type and version. The committed file
 *   is the contract consumers of that version rely on; `compatibilityProblems` (compatibility.ts)
 *   decides which changes it may still take (see COMPATIBILITY_RULES) and anything else needs a
 *   new version.
 * - `schema/events.md`: the readable table, with the payload fields of each event (markdown.ts).
 *
 * This file collects the catalogue from the subgraph definitions; sync.ts compares it with the
 * committed files and writes them.
 *
 * A contract file stays while its type+version is published; a version nobody publishes any more
 * fails the check until its file is deleted by hand (retiring a version is a decision, not a
 * side effect of regenerating).
 */

export const EVENTS_DIR_NAME = "events";
export const EVENTS_DOC_NAME = "events.md";

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

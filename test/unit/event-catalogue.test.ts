import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { consumer, on } from "../../platform/events/consumer";
import { defineEvent, type EventDefinition } from "../../platform/events/event-bus";
import {
  collectEventCatalogue,
  payloadJsonSchema,
  type CatalogueSource,
} from "../../scripts/schema/events/catalogue";
import { compatibilityProblems } from "../../scripts/schema/events/compatibility";
import { syncEventCatalogue } from "../../scripts/schema/events/sync";

const id = z.uuid();

/** [rule, committed payload, new payload, a problem must mention this (or null: compatible)] */
const RULES: [string, z.ZodType, z.ZodType, string | null][] = [
  // removing a property
  [
    "removing a required property",
    z.object({ id, name: z.string() }),
    z.object({ id }),
    "payload.name: property removed",
  ],
  [
    "removing an optional property",
    z.object({ id, name: z.string().optional() }),
    z.object({ id }),
    "payload.name: property removed",
  ],
  [
    "keeping every property, new description",
    z.object({ id, name: z.string() }),
    z.object({ id, name: z.string().describe("the name") }).describe("doc"),
    null,
  ],
  // adding properties
  [
    "adding a required property",
    z.object({ id }),
    z.object({ id, email: z.email() }),
    "payload.email: required property added",
  ],
  ["adding an optional property", z.object({ id }), z.object({ id, email: z.email().optional() }), null],
  [
    "adding an optional property with a default",
    z.object({ id }),
    z.object({ id, count: z.number().default(0) }),
    null,
  ],
  [
    "adding an optional property to a closed object",
    z.strictObject({ id }),
    z.strictObject({ id, note: z.string().optional() }),
    "forbids extra properties",
  ],
  // required / optional
  [
    "making an optional property required",
    z.object({ id, name: z.string().optional() }),
    z.object({ id, name: z.string() }),
    "payload.name: optional property became required",
  ],
  [
    "making a required property optional",
    z.object({ id, name: z.string() }),
    z.object({ id, name: z.string().optional() }),
    "payload.name: required property became optional",
  ],
  [
    "keeping an optional property optional",
    z.object({ id, name: z.string().optional() }),
    z.object({ id, name: z.string().optional() }),
    null,
  ],
  // type, format, nullability
  [
    "changing a property's type",
    z.object({ id, count: z.string() }),
    z.object({ id, count: z.number() }),
    "payload.count: type changed",
  ],
  [
    "changing a property's format",
    z.object({ id, contact: z.email() }),
    z.object({ id, contact: z.uuid() }),
    "payload.contact: format changed",
  ],
  [
    "dropping a format (widening)",
    z.object({ id, contact: z.email() }),
    z.object({ id, contact: z.string() }),
    "payload.contact: format changed",
  ],
  [
    "making a property nullable",
    z.object({ id, name: z.string() }),
    z.object({ id, name: z.string().nullable() }),
    "payload.name: type changed",
  ],
  [
    "changing a default",
    z.object({ id, count: z.number().default(0) }),
    z.object({ id, count: z.number().default(1) }),
    "payload.count: default changed",
  ],
  // enums
  [
    "removing an enum value",
    z.object({ reason: z.enum(["changed", "reset"]) }),
    z.object({ reason: z.enum(["changed"]) }),
    'payload.reason: enum value(s) removed: "reset"',
  ],
  [
    "adding an enum value",
    z.object({ reason: z.enum(["changed", "reset"]) }),
    z.object({ reason: z.enum(["changed", "reset", "expired"]) }),
    'payload.reason: enum value(s) added: "expired"',
  ],
  [
    "reordering enum values",
    z.object({ reason: z.enum(["changed", "reset"]) }),
    z.object({ reason: z.enum(["reset", "changed"]) }),
    null,
  ],
  // bounds
  [
    "dropping a maxLength (widening)",
    z.object({ name: z.string().max(100) }),
    z.object({ name: z.string() }),
    "payload.name: maxLength changed from 100 to none (widening)",
  ],
  [
    "raising a minLength (narrowing)",
    z.object({ name: z.string().min(1) }),
    z.object({ name: z.string().min(2) }),
    "payload.name: minLength changed from 1 to 2 (narrowing)",
  ],
  [
    "keeping the bounds",
    z.object({ name: z.string().min(1).max(100) }),
    z.object({ name: z.string().max(100).min(1) }),
    null,
  ],
  // nested objects and arrays
  [
    "removing a nested property",
    z.object({ address: z.object({ city: z.string(), zip: z.string() }) }),
    z.object({ address: z.object({ city: z.string() }) }),
    "payload.address.zip: property removed",
  ],
  [
    "adding an optional nested property",
    z.object({ address: z.object({ city: z.string() }) }),
    z.object({ address: z.object({ city: z.string(), zip: z.string().optional() }) }),
    null,
  ],
  [
    "changing an array's item type",
    z.object({ ids: z.array(z.uuid()) }),
    z.object({ ids: z.array(z.number()) }),
    "payload.ids[]: type changed",
  ],
  [
    "adding a primitive union member",
    z.object({ v: z.union([z.string(), z.number()]) }),
    z.object({ v: z.union([z.string(), z.number(), z.boolean()]) }),
    "payload.v: type changed",
  ],
  [
    "adding a union member",
    z.object({ v: z.union([z.object({ a: z.string() }), z.object({ b: z.number() })]) }),
    z.object({
      v: z.union([z.object({ a: z.string() }), z.object({ b: z.number() }), z.object({ c: z.boolean() })]),
    }),
    "payload.v: anyOf changed from 2 member(s) to 3 member(s)",
  ],
  [
    "changing a union member",
    z.object({ v: z.union([z.object({ a: z.string() }), z.object({ b: z.number() })]) }),
    z.object({ v: z.union([z.object({ a: z.string() }), z.object({ b: z.string() })]) }),
    "payload.v (anyOf[1]).b: type changed",
  ],
  [
    "keeping the union, documenting a member",
    z.object({ v: z.union([z.object({ a: z.string() }), z.object({ b: z.number() })]) }),
    z.object({ v: z.union([z.object({ a: z.string() }), z.object({ b: z.number().describe("b") })]) }),
    null,
  ],
];

describe("event payload compatibility", () => {
  it.each(RULES)("%s", (_rule, before, after, expected) => {
    const problems = compatibilityProblems(payloadJsonSchema(before), payloadJsonSchema(after));
    if (expected === null) expect(problems).toEqual([]);
    else expect(problems.join("\n")).toContain(expected);
  });

  it("ignores a pattern that only implements an unchanged format, not a bare pattern", () => {
    const committed = payloadJsonSchema(z.object({ email: z.email() })) as { properties: { email: object } };
    const zodUpgrade = structuredClone(committed);
    zodUpgrade.properties.email = { ...committed.properties.email, pattern: "^.+@.+$" };
    expect(compatibilityProblems(committed, zodUpgrade)).toEqual([]);

    const bare = payloadJsonSchema(z.object({ code: z.string().regex(/^[A-Z]{3}$/) }));
    const changed = payloadJsonSchema(z.object({ code: z.string().regex(/^[A-Z]{2,3}$/) }));
    expect(compatibilityProblems(bare, changed).join("\n")).toContain("payload.code: pattern changed");
  });

  it("compares recursive schemas without looping", () => {
    interface Node {
      name: string;
      children: Node[];
    }
    const tree: z.ZodType<Node> = z.lazy(() => z.object({ name: z.string(), children: z.array(tree) }));
    const narrower: z.ZodType<Node> = z.lazy(() =>
      z.object({ name: z.string().max(10), children: z.array(narrower) }),
    );
    expect(compatibilityProblems(payloadJsonSchema(tree), payloadJsonSchema(tree))).toEqual([]);
    expect(compatibilityProblems(payloadJsonSchema(tree), payloadJsonSchema(narrower)).join("\n")).toContain(
      "maxLength",
    );
  });
});

const Registered = defineEvent("test.user.registered", 1, z.object({ userId: z.uuid(), email: z.email() }));

/** A subgraph as the catalogue sees it: what it publishes, and its queues with their event types. */
function source(
  publishes: EventDefinition[],
  queues: Record<string, EventDefinition[]> = {},
): CatalogueSource {
  return {
    publishes,
    subscriptions: () =>
      Object.entries(queues).map(([queue, definitions]) => ({
        queue,
        eventTypes: definitions.map((definition) => definition.type),
      })),
  };
}

describe("event catalogue from subgraph definitions", () => {
  it("lists producer, consumers by queue, and the payload as JSON Schema with title and description", () => {
    const { events, errors } = collectEventCatalogue({
      producer: source([Registered]),
      mailer: source([], { "mailer.welcome": [Registered] }),
      stats: source([], { "stats.all": [Registered] }),
    });
    expect(errors).toEqual([]);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      type: "test.user.registered",
      version: 1,
      producers: ["producer"],
      consumers: [
        { subgraph: "mailer", queue: "mailer.welcome" },
        { subgraph: "stats", queue: "stats.all" },
      ],
    });
    expect(event!.schema).toMatchObject({
      title: "test.user.registered v1",
      description: expect.stringContaining("published by producer"),
      properties: { userId: { format: "uuid" }, email: { format: "email" } },
      required: ["userId", "email"],
    });
  });

  it("reads queues without starting anything, even when subscriptions() touches its services", () => {
    const eager: CatalogueSource = {
      publishes: [],
      subscriptions: ({ deps, logger }) => {
        const child = logger.child({ queue: "eager" });
        const send = deps.mailer.send.bind(deps.mailer);
        const handler = async () => void [child, send];
        return [{ queue: "eager.queue", eventTypes: [Registered.type], handler }];
      },
    };
    const { events, errors } = collectEventCatalogue({ producer: source([Registered]), eager });
    expect(errors).toEqual([]);
    expect(events[0]!.consumers).toEqual([{ subgraph: "eager", queue: "eager.queue" }]);
  });

  it("fails when an event is consumed but nobody publishes it", () => {
    const { errors } = collectEventCatalogue({ mailer: source([], { "mailer.welcome": [Registered] }) });
    expect(errors).toEqual([
      "test.user.registered: consumed by mailer (queue mailer.welcome) but no subgraph publishes it",
    ]);
  });

  it("fails when one type+version has two different schemas", () => {
    const other = defineEvent("test.user.registered", 1, z.object({ userId: z.uuid() }));
    const { errors } = collectEventCatalogue({ a: source([Registered]), b: source([other]) });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(
      "test.user.registered v1: defined twice with different payloads (by a and b)",
    );
  });

  it("accepts two versions of a type side by side", () => {
    const v2 = defineEvent("test.user.registered", 2, z.object({ userId: z.uuid() }));
    const { events, errors } = collectEventCatalogue({ a: source([v2, Registered]) });
    expect(errors).toEqual([]);
    expect(events.map((e) => `${e.type}@${e.version}`)).toEqual([
      "test.user.registered@1",
      "test.user.registered@2",
    ]);
  });

  it("lists a platform consumer under the versions it has handlers for, while a type moves", () => {
    const v2 = defineEvent("test.user.registered", 2, z.object({ userId: z.uuid() }));
    const ignore = async () => {};
    const moving: CatalogueSource = {
      publishes: [],
      subscriptions: () => [
        consumer("moving.both", [on(Registered, ignore), on(v2, ignore)]),
        consumer("moving.old", [on(Registered, ignore)]),
      ],
    };
    // Step 1: consumers handle both, the producer still publishes v1 only.
    const before = collectEventCatalogue({ producer: source([Registered]), moving });
    expect(before.errors).toEqual([]);
    expect(before.events.map((e) => [e.version, e.consumers.map((c) => c.queue)])).toEqual([
      [1, ["moving.both", "moving.old"]],
    ]);
    // Step 2: the producer publishes v2 only; a queue still handling v1 alone is an error (below).
    const after = collectEventCatalogue({
      producer: source([v2]),
      moving: {
        publishes: [],
        subscriptions: () => [consumer("moving.both", [on(Registered, ignore), on(v2, ignore)])],
      },
    });
    expect(after.errors).toEqual([]);
    expect(after.events.map((e) => [e.version, e.consumers.map((c) => c.queue)])).toEqual([
      [2, ["moving.both"]],
    ]);
  });

  it("fails when a producer publishes a version a consuming queue has no handler for", () => {
    const v2 = defineEvent("test.user.registered", 2, z.object({ userId: z.uuid() }));
    const behind: CatalogueSource = {
      publishes: [],
      subscriptions: () => [consumer("behind.queue", [on(Registered, async () => {})])],
    };
    const { errors } = collectEventCatalogue({ producer: source([v2]), behind });
    expect(errors).toEqual([
      "test.user.registered v2: published by producer, but behind (queue behind.queue) handles v1 only and would dead-letter it",
    ]);
  });

  it("refuses two handlers for the same type and version on one queue", () => {
    expect(() => consumer("twice", [on(Registered, async () => {}), on(Registered, async () => {})])).toThrow(
      /two handlers for test\.user\.registered v1/,
    );
  });
});

describe("event catalogue files", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "orion-events-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const contract = "events/test.user.registered.v1.json";
  const sync = (check: boolean, publishes: EventDefinition[]) =>
    syncEventCatalogue({ check, schemaDir: dir, subgraphs: { producer: source(publishes) } });

  it("writes one schema per type+version and events.md, then is current", () => {
    expect(sync(true, [Registered]).stale).toEqual([contract, "events.md"]);
    expect(sync(false, [Registered])).toEqual({ errors: [], stale: [], written: [contract, "events.md"] });
    expect(sync(true, [Registered])).toEqual({ errors: [], stale: [], written: [] });
    expect(readFileSync(path.join(dir, "events.md"), "utf8")).toContain("| `test.user.registered` | 1");
  });

  it("takes a compatible change as stale, regenerated by compose", () => {
    sync(false, [Registered]);
    const widened = defineEvent(
      "test.user.registered",
      1,
      z.object({ userId: z.uuid(), email: z.email(), locale: z.string().optional() }),
    );
    expect(sync(true, [widened])).toEqual({ errors: [], stale: [contract, "events.md"], written: [] });
    expect(sync(false, [widened]).written).toEqual([contract, "events.md"]);
    expect(sync(true, [widened]).stale).toEqual([]);
  });

  it("refuses an incompatible change without a new version, in check and in compose, naming the event", () => {
    sync(false, [Registered]);
    const before = readFileSync(path.join(dir, contract), "utf8");
    const broken = defineEvent("test.user.registered", 1, z.object({ userId: z.uuid() }));
    for (const check of [true, false]) {
      const result = sync(check, [broken]);
      expect(result.written).toEqual([]);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toContain("test.user.registered v1: the payload changed incompatibly");
      expect(result.errors[0]).toContain("payload.email: property removed");
    }
    expect(readFileSync(path.join(dir, contract), "utf8")).toBe(before);
  });

  it("takes the change as a new version next to the old one", () => {
    sync(false, [Registered]);
    const v2 = defineEvent("test.user.registered", 2, z.object({ userId: z.uuid() }));
    expect(sync(false, [Registered, v2]).written).toEqual([
      "events/test.user.registered.v2.json",
      "events.md",
    ]);
    expect(sync(true, [Registered, v2])).toEqual({ errors: [], stale: [], written: [] });
  });

  it("keeps a committed version nobody publishes until its file is deleted", () => {
    sync(false, [Registered]);
    const v2 = defineEvent("test.user.registered", 2, z.object({ userId: z.uuid() }));
    for (const check of [true, false]) {
      const result = sync(check, [v2]);
      expect(result.written).toEqual([]);
      expect(result.errors).toEqual([
        expect.stringContaining("schema/events/test.user.registered.v1.json: no subgraph"),
      ]);
    }
    rmSync(path.join(dir, contract));
    expect(sync(false, [v2]).errors).toEqual([]);
  });

  it("names a contract file that is not JSON", () => {
    sync(false, [Registered]);
    writeFileSync(path.join(dir, contract), "{ not json");
    expect(sync(true, [Registered]).errors).toEqual([
      expect.stringContaining(
        "test.user.registered v1: schema/events/test.user.registered.v1.json is not valid JSON",
      ),
    ]);
  });
});

describe("the committed event catalogue", () => {
  it("is current with the subgraphs' definitions (npm run schema:compose)", () => {
    expect(syncEventCatalogue({ check: true })).toEqual({ errors: [], stale: [], written: [] });
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { z } from "zod";

import { consumer, on } from "../../platform/events/consumer";
import { defineEvent, type EventDefinition } from "../../platform/events/event-bus";
import { type CatalogueSource, collectEventCatalogue } from "../../scripts/schema/events/catalogue";
import { syncEventCatalogue } from "../../scripts/schema/events/sync";

// What an event payload may change without a new version: event-compatibility.test.ts.

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

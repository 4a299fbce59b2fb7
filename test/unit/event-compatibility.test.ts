import { z } from "zod";

import { payloadJsonSchema } from "../../scripts/schema/events/catalogue";
import { compatibilityProblems } from "../../scripts/schema/events/compatibility";

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

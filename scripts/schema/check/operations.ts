import {
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  print,
  validate,
} from "graphql";

import { ABUSE_LIMITS } from "../../../router/abuse-limits";
import { measureOperations } from "../../../router/operation-measures";
import type { UsageFile } from "../../../router/usage/usage-file";
import type { KnownOperations } from "./known-operations";
import { type Finding, type Location, type StepResult, stepResult } from "./report";
import { buildUsageIndex, usedBy } from "./usage-touches";

/**
 * Step "operations": every known operation (known-operations.ts) must validate against the new
 * API schema and stay within the router's abuse limits (router/abuse-limits.ts), or the router
 * refuses it after the change ships (OPERATION_BROKEN when the change breaks it, and the API diff
 * names it too; OPERATION_INVALID when it was already invalid at the base). Then the deprecation workflow: each `@deprecated` element of
 * the new API with its last recorded use, and whether anything still uses it.
 */
export type Locate = (coordinate: string) => { subgraph?: string; location?: Location };

const MEASURED = ["depth", "cost", "aliases", "directives", "tokens", "characters"] as const;

export function checkOperations(
  newApi: GraphQLSchema,
  known: KnownOperations,
  usage: UsageFile | undefined,
  locate: Locate,
  oldApi?: GraphQLSchema,
): StepResult {
  const findings: Finding[] = [];
  for (const operation of known.operations) {
    const sources = operation.uses.map((use) => use.source).join(", ");
    const errors = validate(newApi, operation.document);
    if (errors.length > 0) {
      // Broken by this change (it validated against the base): breaking, approved with the change
      // that breaks it (approvals.ts). Already broken at the base: an error to fix either way.
      const brokenHere = oldApi !== undefined && validate(oldApi, operation.document).length === 0;
      findings.push({
        step: "operations",
        level: brokenHere ? "breaking" : "error",
        kind: brokenHere ? "OPERATION_BROKEN" : "OPERATION_INVALID",
        message: `${operation.name} (${sources}) ${brokenHere ? "no longer validates" : "does not validate"}: ${errors.map((error) => error.message).join(" ")}`,
        location: operation.location,
        usedBy: { operations: operation.uses, clients: [] },
      });
      continue;
    }
    const [measure] = measureOperations(newApi, print(operation.document));
    const over = MEASURED.filter((limit) => measure && measure[limit] > ABUSE_LIMITS[limit]);
    if (over.length > 0)
      findings.push({
        step: "operations",
        level: "error",
        kind: "OPERATION_OVER_LIMIT",
        message: `${operation.name} (${sources}) would be refused by the router: ${over
          .map((limit) => `${limit} ${measure![limit]} > ${ABUSE_LIMITS[limit]}`)
          .join(", ")}`,
        location: operation.location,
        usedBy: { operations: operation.uses, clients: [] },
      });
  }
  const deprecations = deprecationFindings(newApi, known, usage, locate);
  const sources = [
    `${known.files.length} operation files`,
    ...(known.releases.length > 0 ? [`releases ${known.releases.join(", ")}`] : []),
    ...(usage ? [`usage of ${usage.clients.length} clients ${usage.from}..${usage.to}`] : []),
  ];
  return stepResult(
    "operations",
    `${known.operations.length} operations (${sources.join(", ")}); ${deprecations.length} deprecated elements`,
    [...findings, ...deprecations],
  );
}

/** Every `@deprecated` field, argument, input field and enum value of a schema, with its reason. */
export function deprecatedElements(schema: GraphQLSchema): { coordinate: string; reason: string }[] {
  const elements: { coordinate: string; reason: string }[] = [];
  const add = (coordinate: string, reason: string | null | undefined) => {
    if (reason != null) elements.push({ coordinate, reason });
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__")) continue;
    if (isObjectType(type) || isInterfaceType(type))
      for (const field of Object.values(type.getFields())) {
        add(`${type.name}.${field.name}`, field.deprecationReason);
        for (const arg of field.args) add(`${type.name}.${field.name}(${arg.name}:)`, arg.deprecationReason);
      }
    else if (isInputObjectType(type))
      for (const field of Object.values(type.getFields()))
        add(`${type.name}.${field.name}`, field.deprecationReason);
    else if (isEnumType(type))
      for (const value of type.getValues()) add(`${type.name}.${value.name}`, value.deprecationReason);
  }
  return elements;
}

/**
 * DEPRECATED_IN_USE (with who uses it and the last recorded use) or DEPRECATED_UNUSED (no known
 * operation, no recorded use: safe to remove). Without a usage file only the repository's
 * operations and release manifests count, and the message says so.
 */
function deprecationFindings(
  newApi: GraphQLSchema,
  known: KnownOperations,
  usage: UsageFile | undefined,
  locate: Locate,
): Finding[] {
  const index = buildUsageIndex(newApi, known.operations, usage);
  return deprecatedElements(newApi).map(({ coordinate, reason }) => {
    const used = usedBy(index, { coordinates: [coordinate] });
    const lastSeen = used.clients
      .map((client) => client.lastSeen)
      .sort()
      .at(-1);
    const inUse = used.operations.length > 0 || used.clients.length > 0;
    const lastUse = lastSeen
      ? `last recorded use ${lastSeen}`
      : usage
        ? "no recorded use"
        : "no recorded use (no usage file given)";
    return {
      step: "operations",
      level: "info",
      kind: inUse ? "DEPRECATED_IN_USE" : "DEPRECATED_UNUSED",
      coordinate,
      message: inUse
        ? `Deprecated (${reason}), still in use; ${lastUse}`
        : `Deprecated (${reason}); no known operation uses it, ${lastUse}: safe to remove${usage ? "" : " as far as the repository knows"}`,
      ...locate(coordinate),
      usedBy: used,
    };
  });
}

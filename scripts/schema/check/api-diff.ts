import { type Change, CriticalityLevel, diff, DiffRule } from "@graphql-inspector/core";
import type { GraphQLSchema } from "graphql";

import {
  changeCoordinate,
  dropDescriptionsOfAdditions,
  LEVELS,
  mergeDirectiveArgumentChanges,
} from "./change-coordinates";
import type { Locate } from "./operations";
import type { Finding, Usage } from "./report";
import { touchOf, type UsageIndex, usedBy } from "./usage-touches";

/**
 * Step "diff": the public API schema (what clients see) diffed with @graphql-inspector/core. Each
 * change is a finding: kind = the inspector's change type, coordinate per change-coordinates.ts,
 * level from its criticality, id `${kind}:${coordinate}` (what schema/approvals.json names).
 *
 * With a usage index, a breaking change nobody known touches (usage-touches.ts) is downgraded to
 * dangerous by the inspector's own `considerUsage` rule; one somebody touches stays breaking and
 * names them.
 */
export async function diffApi(
  oldApi: GraphQLSchema,
  newApi: GraphQLSchema,
  locate: Locate,
  usage?: UsageIndex,
): Promise<Finding[]> {
  const changes = dropDescriptionsOfAdditions(await diff(oldApi, newApi));
  const uses = new Map<Change, Usage | undefined>();
  for (const change of changes) {
    if (change.criticality.level !== CriticalityLevel.Breaking || !usage) continue;
    const touch = touchOf(change, oldApi);
    uses.set(change, touch && usedBy(usage, touch));
  }
  const classified = usage ? await considerUsage(changes, oldApi, newApi, uses) : changes;
  return mergeDirectiveArgumentChanges(classified).map((change) => {
    const coordinate = changeCoordinate(change);
    const used = uses.get(originals.get(change) ?? change);
    return {
      step: "diff",
      level: LEVELS[change.criticality.level],
      kind: change.type,
      ...(coordinate ? { coordinate, id: `${change.type}:${coordinate}` } : { id: change.type }),
      message: change.message,
      ...(coordinate ? locate(coordinate) : {}),
      ...(used ? { usedBy: used } : {}),
    };
  });
}

/** Downgraded changes are copies: the original each came from, for its usage. */
const originals = new WeakMap<Change, Change>();

const isUsed = (usage: Usage | undefined) =>
  usage === undefined || usage.operations.length > 0 || usage.clients.length > 0;

/**
 * The inspector's `considerUsage` asks, for each breaking change with a path, whether it is safe
 * to break (true: nobody known touches it) and downgrades those to dangerous. It matches what it
 * downgrades by path prefix, so a safe `Query.user` would also downgrade a used `Query.users`: a
 * change it downgraded that is in use is put back (the rule keeps the changes' order).
 */
async function considerUsage(
  changes: Change[],
  oldSchema: GraphQLSchema,
  newSchema: GraphQLSchema,
  uses: Map<Change, Usage | undefined>,
): Promise<Change[]> {
  const result = await DiffRule.considerUsage({
    changes,
    oldSchema,
    newSchema,
    config: {
      checkUsage: async (fields) => fields.map(({ meta }) => !isUsed(uses.get(meta.change))),
    },
  });
  return result.map((change, i) => {
    const original = changes[i]!;
    if (change === original) return change;
    if (isUsed(uses.get(original))) return original;
    originals.set(change, original);
    return change;
  });
}

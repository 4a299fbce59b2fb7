import { type Change, CriticalityLevel } from "@graphql-inspector/core";

import type { Level } from "./report";

/**
 * A graphql-inspector change as a schema coordinate, spelled as router/usage/coordinates.ts spells
 * usage (the GraphQL schema coordinates RFC), so a change and the usage it touches meet:
 *
 * | element                          | inspector path                    | coordinate                           |
 * | -------------------------------- | --------------------------------- | ------------------------------------ |
 * | type, field, enum value, input   | `User`, `User.email`, `Role.BOT`  | the same                             |
 * | field argument                   | `Query.users.first`               | `Query.users(first:)`                |
 * | directive, its argument          | `@limit`, `@limit.max`            | `@limit`, `@limit(max:)`             |
 * | directive usage on an element    | `User.name.@deprecated.reason`    | `User.name @deprecated(reason:)`     |
 * | union member                     | `Result` (member in meta)         | `Result\|Other`  (as in `A \| B`)    |
 * | implemented interface            | `User` (interface in meta)        | `User&Node`  (as in `implements A & B`) |
 *
 * The last two are not RFC coordinates (it has none for them); they keep the finding id
 * (`${kind}:${coordinate}`) unique when two members of one union change.
 */
export function changeCoordinate(change: Change): string | undefined {
  const meta = change.meta as Record<string, unknown>;
  switch (change.type) {
    case "UNION_MEMBER_REMOVED":
      return `${String(meta.unionName)}|${String(meta.removedUnionMemberTypeName)}`;
    case "UNION_MEMBER_ADDED":
      return `${String(meta.unionName)}|${String(meta.addedUnionMemberTypeName)}`;
    case "OBJECT_TYPE_INTERFACE_REMOVED":
      return `${String(meta.objectTypeName)}&${String(meta.removedInterfaceName)}`;
    case "OBJECT_TYPE_INTERFACE_ADDED":
      return `${String(meta.objectTypeName)}&${String(meta.addedInterfaceName)}`;
    case "DIRECTIVE_ARGUMENT_ADDED":
      // Its path is the directive alone.
      return `@${String(meta.directiveName)}(${String(meta.addedDirectiveArgumentName)}:)`;
  }
  return change.path === undefined ? undefined : pathCoordinate(change.path);
}

/** `Query.users.first.@deprecated.reason` → `Query.users(first:) @deprecated(reason:)`. */
export function pathCoordinate(path: string): string {
  const segments = path.split(".");
  const at = segments.findIndex((segment) => segment.startsWith("@"));
  const element = at === -1 ? segments : segments.slice(0, at);
  const [type, child, argument] = element;
  let coordinate = [type, child].filter(Boolean).join(".") + (argument ? `(${argument}:)` : "");
  if (at !== -1) {
    const [directive, directiveArgument] = segments.slice(at);
    const usage = `${directive}${directiveArgument ? `(${directiveArgument}:)` : ""}`;
    coordinate = coordinate ? `${coordinate} ${usage}` : usage;
  }
  return coordinate;
}

export const LEVELS: Record<CriticalityLevel, Level> = {
  [CriticalityLevel.Breaking]: "breaking",
  [CriticalityLevel.Dangerous]: "dangerous",
  [CriticalityLevel.NonBreaking]: "safe",
};

export const DIRECTIVE_USAGE_ARGUMENT_CHANGED = "DIRECTIVE_USAGE_ARGUMENT_CHANGED";

/**
 * The inspector reports a directive argument whose value changed (`@specifiedBy(url: "a")` →
 * `(url: "b")`) as that argument removed and added again: those pairs become one change, with the
 * old and the new value. A deprecation reason is prose (safe); any other directive argument may
 * change behaviour (a limit, a URL a client follows), so it is dangerous.
 */
export function mergeDirectiveArgumentChanges(changes: Change[]): Change[] {
  const isChangedValue = (change: Change) =>
    change.type === "DIRECTIVE_USAGE_ARGUMENT_ADDED" &&
    (change.meta as Record<string, unknown>).oldArgumentValue != null;
  const changedPaths = new Set(changes.filter(isChangedValue).map((change) => change.path));
  const removed = new Set(
    changes
      .filter((change) => change.type === "DIRECTIVE_USAGE_ARGUMENT_REMOVED" && changedPaths.has(change.path))
      .map((change) => change.path),
  );
  return changes.flatMap((change): Change[] => {
    if (change.type === "DIRECTIVE_USAGE_ARGUMENT_REMOVED" && removed.has(change.path)) return [];
    if (!isChangedValue(change) || !removed.has(change.path)) return [change];
    const meta = change.meta as Record<string, unknown>;
    const directive = String(meta.directiveName);
    const old = String(meta.oldArgumentValue);
    const value = String(meta.addedArgumentValue);
    const element = pathCoordinate(change.path!).split(" ")[0];
    return [
      {
        type: DIRECTIVE_USAGE_ARGUMENT_CHANGED,
        path: change.path,
        meta: { ...meta, newArgumentValue: value },
        criticality: {
          level: directive === "deprecated" ? CriticalityLevel.NonBreaking : CriticalityLevel.Dangerous,
        },
        message: `Argument '${String(meta.addedArgumentName)}' of '@${directive}' on '${element}' changed from ${old} to ${value}`,
      },
    ];
  });
}

/**
 * A new field, type, argument or enum value comes with its description (lint requires one): the
 * inspector reports that description as a second change at the same path, which tells a reader of
 * the changelog nothing the addition does not. Those are dropped; a description added to an
 * element that already existed stays.
 */
export function dropDescriptionsOfAdditions(changes: Change[]): Change[] {
  const isDescription = (change: Change) => /_DESCRIPTION_(ADDED|CHANGED)$/.test(change.type);
  const added = new Set(
    changes
      .filter((change) => change.type.endsWith("_ADDED") && !isDescription(change))
      .map((change) => change.path),
  );
  return changes.filter((change) => !(isDescription(change) && added.has(change.path)));
}

import { type ASTNode, type ConstDirectiveNode, Kind, print } from "graphql";

import type { Finding, Level, Location } from "./report";
import { locationOf } from "./sdl-index";
import type { ParsedSubgraph } from "./sources";

/**
 * The federation directives the API schema drops, diffed per subgraph: they change how the router
 * plans queries (which subgraph resolves a field, how entities are joined), not what clients can
 * ask, so the API diff cannot see them. Composition already fails on the fatal ones (a @key on a
 * field that does not exist, a field resolved twice without @shareable); what composes may still
 * move traffic between subgraphs, so it is reported for review, with the subgraph:
 *
 * - kinds FEDERATION_DIRECTIVE_ADDED / _REMOVED / _CHANGED, coordinate `User @key`,
 *   `User.email @shareable`, `Query.me @override` (the element, then the directive);
 * - @shareable added is safe; everything else is dangerous;
 * - the id names the subgraph too (`FEDERATION_DIRECTIVE_CHANGED:user:User @key`): each has its own.
 */
const FEDERATION_DIRECTIVES = new Set(["key", "requires", "provides", "override", "shareable", "external"]);

interface Usages {
  printed: string[];
  node: ASTNode;
}

interface WithDirectives {
  kind: string;
  name?: { value: string };
  directives?: readonly ConstDirectiveNode[];
  fields?: readonly (ASTNode & { name: { value: string }; directives?: readonly ConstDirectiveNode[] })[];
}

/** `User @key` → the printed usages (`@key(fields: "id")`), sorted: @key repeats. */
function federationUsages(subgraph: ParsedSubgraph): Map<string, Usages> {
  const usages = new Map<string, Usages>();
  const collect = (element: string, node: ASTNode, directives: readonly ConstDirectiveNode[] | undefined) => {
    for (const directive of directives ?? []) {
      const name = directive.name.value.replace(/^federation__/, "");
      if (!FEDERATION_DIRECTIVES.has(name)) continue;
      const key = `${element} @${name}`;
      const entry = usages.get(key) ?? { printed: [], node };
      entry.printed.push(print({ ...directive, name: { ...directive.name, value: name } }));
      entry.printed.sort();
      usages.set(key, entry);
    }
  };
  for (const definition of subgraph.document.definitions as readonly WithDirectives[]) {
    if (!definition.name || definition.kind === Kind.DIRECTIVE_DEFINITION) continue;
    const type = definition.name.value;
    collect(type, definition as ASTNode, definition.directives);
    for (const field of definition.fields ?? [])
      collect(`${type}.${field.name.value}`, field, field.directives);
  }
  return usages;
}

function levelOf(kind: string, directive: string): Level {
  if (directive === "shareable" && kind === "FEDERATION_DIRECTIVE_ADDED") return "safe";
  return "dangerous";
}

export function diffFederationDirectives(
  base: ParsedSubgraph[],
  head: ParsedSubgraph[],
  locate: (subgraph: string, element: string) => Location | undefined,
): Finding[] {
  const findings: Finding[] = [];
  for (const after of head) {
    const before = base.find((subgraph) => subgraph.name === after.name);
    if (!before) continue; // a new subgraph: the API diff shows what it adds
    const old = federationUsages(before);
    const current = federationUsages(after);
    for (const coordinate of new Set([...old.keys(), ...current.keys()])) {
      const was = old.get(coordinate);
      const is = current.get(coordinate);
      const oldText = was?.printed.join(" ") ?? "";
      const newText = is?.printed.join(" ") ?? "";
      if (oldText === newText) continue;
      const kind = !was
        ? "FEDERATION_DIRECTIVE_ADDED"
        : !is
          ? "FEDERATION_DIRECTIVE_REMOVED"
          : "FEDERATION_DIRECTIVE_CHANGED";
      const [element, directive] = coordinate.split(" @") as [string, string];
      const message =
        kind === "FEDERATION_DIRECTIVE_ADDED"
          ? `${newText} added to ${element} in subgraph ${after.name}`
          : kind === "FEDERATION_DIRECTIVE_REMOVED"
            ? `${oldText} removed from ${element} in subgraph ${after.name}`
            : `${element} in subgraph ${after.name}: ${oldText} → ${newText}`;
      // Where the element is now; a removed element where it was.
      const location = is ? locationOf(is.node) : (locate(after.name, element) ?? locationOf(was!.node));
      findings.push({
        step: "diff",
        level: levelOf(kind, directive),
        kind,
        coordinate,
        id: `${kind}:${after.name}:${coordinate}`,
        subgraph: after.name,
        message,
        ...(location ? { location } : {}),
      });
    }
  }
  return findings;
}

import { isDeepStrictEqual } from "node:util";

/** What the compatibility check and the Markdown rendering both read of a JSON Schema. */

export type JsonSchema = boolean | { [keyword: string]: unknown };

export interface Located {
  node: unknown;
  root: unknown;
}

export function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows local `$ref`s (`#`, `#/$defs/...`); sibling keywords of the reference are kept. */
export function dereference(located: Located): { node: unknown; refs: string[] } {
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

export function sameSet(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return isDeepStrictEqual(a, b);
  return (
    a.length === b.length &&
    a.every((x) => b.some((y) => isDeepStrictEqual(x, y))) &&
    b.every((y) => a.some((x) => isDeepStrictEqual(x, y)))
  );
}

import DataLoader from "dataloader";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string) => UUID.test(value);

/**
 * A per-request DataLoader over uuid keys: all keys asked for in one tick cost one query. Keys that
 * are not uuids (a client can send anything through `_entities`) resolve to the fallback without a query.
 */
export function uuidLoader<T, R = T | null>(
  fetch: (ids: string[]) => Promise<T[]>,
  keyOf: (row: T) => string,
  fallback: (id: string) => R = () => null as R,
  wrap: (row: T) => R = (row) => row as unknown as R,
): DataLoader<string, R> {
  return new DataLoader<string, R>(async (ids) => {
    const valid = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = valid.length > 0 ? await fetch(valid) : [];
    const byId = new Map(rows.map((row) => [keyOf(row), row]));
    return ids.map((id) => {
      const row = byId.get(id.toLowerCase());
      return row === undefined ? fallback(id) : wrap(row);
    });
  });
}

/**
 * A PostgreSQL array literal for `= any(?::uuid[])`: knex would expand a JS array into a list of
 * placeholders. Only validated uuids go in, so nothing needs quoting.
 */
export function uuidArray(ids: readonly string[]): string {
  if (!ids.every(isUuid)) throw new Error("uuidArray takes uuids only");
  return `{${ids.join(",")}}`;
}

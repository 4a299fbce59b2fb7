import { DAY_MS } from "./time";

/**
 * Days of a UTC year as the bit strings of `user_activity_days` (bit n = day n, January 1st = 0).
 * 366 bits, so every year fits; bit 365 is used only in leap years.
 */

export const YEAR_BITS = 366;

/** The UTC year of an instant and its day index within that year. */
export function yearDay(at: Date): { year: number; index: number } {
  const year = at.getUTCFullYear();
  return { year, index: Math.floor((at.getTime() - Date.UTC(year, 0, 1)) / DAY_MS) };
}

/** The UTC date (YYYY-MM-DD) of day `index` of `year`. */
export const dateOf = (year: number, index: number) =>
  new Date(Date.UTC(year, 0, 1) + index * DAY_MS).toISOString().slice(0, 10);

/** A bit string with the given day indexes set. */
export function bitsOf(indexes: Iterable<number>): string {
  const bits = new Array<string>(YEAR_BITS).fill("0");
  for (const index of indexes) bits[index] = "1";
  return bits.join("");
}

/** The day indexes set in a bit string. */
export function indexesOf(bits: string): number[] {
  const set: number[] = [];
  for (let i = bits.indexOf("1"); i >= 0; i = bits.indexOf("1", i + 1)) set.push(i);
  return set;
}

/**
 * Per UTC year, the bit mask of the days from `first` to `last` (YYYY-MM-DD, inclusive): what a
 * range of days is checked against.
 */
export function masksFor(first: string, last: string): { year: number; mask: string }[] {
  const start = new Date(`${first}T00:00:00Z`);
  const end = new Date(`${last}T00:00:00Z`);
  const masks: { year: number; mask: string }[] = [];
  for (let year = start.getUTCFullYear(); year <= end.getUTCFullYear(); year++) {
    const from = year === start.getUTCFullYear() ? yearDay(start).index : 0;
    const to =
      year === end.getUTCFullYear() ? yearDay(end).index : yearDay(new Date(Date.UTC(year, 11, 31))).index;
    masks.push({ year, mask: "0".repeat(from) + "1".repeat(to - from + 1) + "0".repeat(YEAR_BITS - to - 1) });
  }
  return masks;
}

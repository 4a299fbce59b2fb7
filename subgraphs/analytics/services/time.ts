/** Lengths of UTC time in milliseconds: hourly counts, daily activity bits, retention ages. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

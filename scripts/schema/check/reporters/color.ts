/**
 * Whether the terminal report is coloured. Colour codes in a file, a pipe or a CI log someone
 * greps are noise, so the default is "only on a terminal". FORCE_COLOR wins over NO_COLOR, as in
 * Node itself: whoever forces colour for one command means it over a profile-wide NO_COLOR.
 * - FORCE_COLOR set: colour, unless it is "0" or "false";
 * - NO_COLOR set and not empty (no-color.org): no colour;
 * - otherwise colour when the stream is a TTY and TERM is not "dumb".
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  if (env.NO_COLOR) return false;
  return stream.isTTY === true && env.TERM !== "dumb";
}

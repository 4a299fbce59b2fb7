import { Writable } from "node:stream";

/**
 * Every JSON line the services write (SupergraphOptions.logDestination), raw and parsed. A chunk
 * may end mid-line: the rest waits for the next one.
 */
export function logCapture<Line = Record<string, unknown>>() {
  const raw: string[] = [];
  let pending = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop()!;
      raw.push(...lines.filter((line) => line.length > 0));
      done();
    },
  });
  /** Parsed lines from index `from` on (a fault's window). */
  const since = (from: number) => raw.slice(from).map((line) => JSON.parse(line) as Line);
  return { stream, raw, since, all: () => since(0) };
}

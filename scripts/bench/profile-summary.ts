import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * Reads the V8 CPU profiles `bench:router` writes with BENCH_CPU_PROFILE_DIR and prints, per
 * process, where its busy time went: by package (or project file), by function (self time), and
 * the inclusive time of functions whose name matches BENCH_PROFILE_FOCUS (a regular expression).
 * BENCH_PROFILE_CALLERS (a regular expression) charges the self time of matching functions to their
 * nearest caller outside Node's own modules (who makes the writes, say).
 * BENCH_PROFILE_EXCLUDE (a regular expression) leaves out samples in matching functions: a socket
 * write that wakes a peer on a busy machine is often where the process is descheduled, so its
 * samples are wall time, not CPU (compare user and system time in /proc).
 * BENCH_PROFILE_SKIP_SECONDS (default 20) leaves out each process's start and the seeding.
 *
 *   node -r @swc-node/register scripts/bench/profile-summary.ts <dir> [top=25]
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(["(idle)", "(root)"]);

function owner(frame: CallFrame): string {
  if (!frame.url) return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (modules) return modules[1]!;
  if (frame.url.startsWith("node:")) return frame.url;
  return path.relative(process.cwd(), frame.url.replace(/^file:\/\//, ""));
}

function summarise(file: string, top: number, focus: RegExp | null): void {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfMs = new Map<number, number>();
  let clock = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    clock += delta;
    if (clock / 1e6 >= skipSeconds) selfMs.set(id, (selfMs.get(id) ?? 0) + delta / 1000);
  });

  let busy = 0;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const callers = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id)!;
    if (IDLE.has(node.callFrame.functionName)) continue;
    if (exclude?.test(node.callFrame.functionName)) continue;
    busy += ms;
    const where = owner(node.callFrame);
    byOwner.set(where, (byOwner.get(where) ?? 0) + ms);
    const name = `${node.callFrame.functionName || "(anonymous)"} ${where}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    if (callersOf?.test(name)) {
      let at = parent.get(id);
      while (at !== undefined && /^(node:|\(native\))/.test(owner(byId.get(at)!.callFrame)))
        at = parent.get(at);
      const frame = at === undefined ? null : byId.get(at)!.callFrame;
      const key = frame ? `${frame.functionName} ${owner(frame)}:${frame.lineNumber + 1}` : "(none)";
      callers.set(key, (callers.get(key) ?? 0) + ms);
    }
    if (focus) {
      // Each matching frame on the stack once, however deep the recursion.
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = byId.get(at)!.callFrame;
        const key = `${frame.functionName} ${owner(frame)}:${frame.lineNumber + 1}`;
        if (focus.test(key) && !seen.has(key)) {
          seen.add(key);
          inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
        }
      }
    }
  }
  const line = (label: string, ms: number) =>
    `  ${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${label}`;
  const sorted = (map: Map<string, number>) => [...map].sort((x, y) => y[1] - x[1]).slice(0, top);
  console.log(`\n# ${path.basename(file)}: ${busy.toFixed(0)} ms busy`);
  console.log("## by package or file (self time)");
  for (const [label, ms] of sorted(byOwner)) console.log(line(label, ms));
  console.log("## by function (self time)");
  for (const [label, ms] of sorted(byFunction)) console.log(line(label, ms));
  if (callersOf) {
    console.log(`## nearest callers of ${callersOf}`);
    for (const [label, ms] of sorted(callers)) console.log(line(label, ms));
  }
  if (focus) {
    console.log(`## inclusive time of ${focus}`);
    for (const [label, ms] of sorted(inclusive)) console.log(line(label, ms));
  }
}

const [dir, top] = process.argv.slice(2);
if (!dir) throw new Error("usage: profile-summary.ts <dir> [top]");
const skipSeconds = Number(process.env.BENCH_PROFILE_SKIP_SECONDS ?? 20);
const callersOf = process.env.BENCH_PROFILE_CALLERS ? new RegExp(process.env.BENCH_PROFILE_CALLERS) : null;
const exclude = process.env.BENCH_PROFILE_EXCLUDE ? new RegExp(process.env.BENCH_PROFILE_EXCLUDE) : null;
const focus = process.env.BENCH_PROFILE_FOCUS ? new RegExp(process.env.BENCH_PROFILE_FOCUS) : null;
for (const file of readdirSync(dir)
  .filter((name) => name.endsWith(".cpuprofile"))
  .sort())
  summarise(path.join(dir, file), Number(top ?? 25), focus);

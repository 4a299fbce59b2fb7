import { readdirSync, readFileSync } from "node:fs";

/** Readings from /proc (Linux only): resident memory, CPU time and the process tree. */

const TICKS_PER_SECOND = 100; // USER_HZ: `getconf CLK_TCK` is 100 on Linux x86-64 and arm64

function read(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

function readProc(pid: number, file: string): string | null {
  return read(`/proc/${pid}/${file}`);
}

function kib(text: string | null, field: string): number | null {
  const match = text?.match(new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, "m"));
  return match ? Number(match[1]) : null;
}

/** VmRSS in KiB; null when the process is gone (or a zombie). */
export function rssKiB(pid: number): number | null {
  return kib(readProc(pid, "status"), "VmRSS");
}

/** Proportional set size in KiB: shared pages divided among the processes sharing them. */
export function pssKiB(pid: number): number | null {
  return kib(readProc(pid, "smaps_rollup"), "Pss");
}

export function commandName(pid: number): string {
  return readProc(pid, "comm")?.trim() ?? "?";
}

/**
 * The fields of /proc/<pid>/stat after the command name (which may contain spaces and
 * parentheses): state is [0], the parent pid [1], user and system CPU ticks [11] and [12].
 */
function statFields(pid: number): string[] | null {
  const text = readProc(pid, "stat");
  return text ? text.slice(text.lastIndexOf(")") + 2).split(" ") : null;
}

function stat(pid: number): { state: string; ppid: number } | null {
  const fields = statFields(pid);
  return fields ? { state: fields[0] ?? "?", ppid: Number(fields[1]) } : null;
}

/** User + system CPU seconds a process has used so far; 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND : 0;
}

/** Busy CPU seconds of the whole machine (every core) so far: all time but idle and iowait. */
export function machineBusySeconds(): number {
  const line = read("/proc/stat")?.split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = values;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

/**
 * PostgreSQL backends serving a run: their process title names the database
 * ("postgres: 15/main: postgres orion_..._auth 127.0.0.1(5432) idle"), so the run's share of
 * PostgreSQL's CPU can be told apart from other work on the same server.
 */
export function postgresBackends(databasePrefix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = read(`/proc/${entry}/cmdline`);
    if (cmdline?.startsWith("postgres: ") && cmdline.includes(databasePrefix)) pids.push(Number(entry));
  }
  return pids;
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const info = stat(pid);
  return info !== null && info.state !== "Z" && info.state !== "X";
}

/** Every live descendant of pid (children, grandchildren...), found through the parent pids in /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    const info = stat(child);
    if (!info || info.state === "Z") continue;
    const list = children.get(info.ppid) ?? [];
    list.push(child);
    children.set(info.ppid, list);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    for (const child of children.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export interface TreeMemory {
  /** VmRSS of the process itself, KiB. */
  rssKiB: number;
  /** Its descendants (for `start`: the embedded PostgreSQL server and backends). */
  children: { count: number; rssKiB: number; pssKiB: number; names: string[] };
}

export function treeMemory(pid: number): TreeMemory {
  const own = rssKiB(pid);
  if (own === null) throw new Error(`process ${pid} is gone; cannot read its memory`);
  const kids = descendants(pid);
  let rss = 0;
  let pss = 0;
  const names = new Set<string>();
  for (const child of kids) {
    rss += rssKiB(child) ?? 0;
    pss += pssKiB(child) ?? 0;
    names.add(commandName(child));
  }
  return {
    rssKiB: own,
    children: { count: kids.length, rssKiB: rss, pssKiB: pss, names: [...names].sort() },
  };
}

import { readdirSync, readFileSync } from "node:fs";

/** Readings from /proc (Linux only): resident memory and the process tree. */

function readProc(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return null;
  }
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

/** State letter and parent pid from /proc/<pid>/stat (the command name may contain spaces and parentheses). */
function stat(pid: number): { state: string; ppid: number } | null {
  const text = readProc(pid, "stat");
  if (!text) return null;
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "?", ppid: Number(fields[1]) };
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

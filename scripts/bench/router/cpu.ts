import { readdirSync, readFileSync } from "node:fs";

/** CPU time from /proc (Linux): per process, and the whole machine, in seconds. */

const TICKS_PER_SECOND = 100; // USER_HZ: `getconf CLK_TCK` is 100 on Linux x86-64 and arm64

function read(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/** User + system CPU seconds a process has used so far; 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  const text = read(`/proc/${pid}/stat`);
  if (!text) return 0;
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Busy CPU seconds of the whole machine (every core) so far: all time but idle and iowait. */
export function machineBusySeconds(): number {
  const line = read("/proc/stat")?.split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = values;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

/**
 * PostgreSQL backends serving this run: their process title names the database
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

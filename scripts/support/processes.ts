import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

import { PROJECT_ROOT } from "../../platform/paths";
import { descendants, isAlive } from "./proc";
import { sleep, within } from "./timing";

export interface StopResult {
  /** Exited on SIGTERM by itself, with every process of its group gone, within the timeouts. */
  clean: boolean;
  ms: number;
  detail: string;
}

const OUTPUT_LIMIT = 64 * 1024;

/**
 * A service under test (`node <args>` from the project root) in its own process group (detached),
 * so that stopping it reaches everything it started. Its output is kept in memory for error reports,
 * or, with `logFile`, written straight to that file: a load generator must not pay for the
 * services' logs by piping them through itself.
 */
export class ServiceProcess {
  static readonly running = new Set<ServiceProcess>();
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly child: ChildProcess;
  private text = "";

  constructor(
    readonly label: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    readonly logFile?: string,
  ) {
    const fd = logFile === undefined ? null : openSync(logFile, "a");
    try {
      this.child = spawn(process.execPath, args, {
        cwd: PROJECT_ROOT,
        env,
        detached: true,
        stdio: fd === null ? ["ignore", "pipe", "pipe"] : ["ignore", fd, fd],
      });
    } finally {
      if (fd !== null) closeSync(fd);
    }
    if (this.child.pid === undefined) throw new Error(`${label}: spawn failed`);
    this.pid = this.child.pid;
    const keep = (chunk: Buffer) => {
      this.text = (this.text + chunk.toString("utf8")).slice(-OUTPUT_LIMIT);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    ServiceProcess.running.add(this);
  }

  /** Everything it printed (in memory: the last 64 KiB). */
  get output(): string {
    if (this.logFile === undefined) return this.text;
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  /** The last lines of output, for error messages. */
  tail(lines = 25): string {
    return this.output.trimEnd().split("\n").slice(-lines).join("\n") || "(no output)";
  }

  /** Why the process can no longer become ready, or null while it runs. */
  failure(): string | null {
    if (!this.exit) return null;
    return `${this.label} exited early (code ${this.exit.code}, signal ${this.exit.signal}); last output:\n${this.tail()}`;
  }

  /**
   * SIGTERM to the whole process group (what Ctrl-C or `docker stop` does), then wait for the
   * leader to exit and every process of the group to go. Anything left gets SIGKILL and is reported.
   */
  async stop(timeoutMs = 30_000): Promise<StopResult> {
    const started = Date.now();
    const group = [this.pid, ...descendants(this.pid)];
    const problems: string[] = [];
    if (!this.exit) {
      try {
        process.kill(-this.pid, "SIGTERM");
      } catch (error) {
        problems.push(`SIGTERM failed: ${String(error)}`);
      }
    } else {
      problems.push(`had already exited (code ${this.exit.code}, signal ${this.exit.signal})`);
    }
    const leaderExited = await within(this.exited, timeoutMs);
    if (!leaderExited) problems.push(`did not exit within ${timeoutMs / 1000}s of SIGTERM`);
    const deadline = Date.now() + 10_000;
    while (group.some(isAlive) && Date.now() < deadline) await sleep(100);
    const left = group.filter(isAlive);
    if (left.length > 0)
      problems.push(`${left.length} process(es) of its group still running 10s after it exited`);
    if (!leaderExited || left.length > 0) {
      for (const pid of [-this.pid, ...left]) signal(pid, "SIGKILL");
      await within(this.exited, 5_000);
      problems.push("killed with SIGKILL");
    }
    const ms = Date.now() - started;
    ServiceProcess.running.delete(this);
    if (this.exit && this.exit.code !== 0 && this.exit.signal !== "SIGTERM" && leaderExited) {
      problems.push(
        `exited with code ${this.exit.code}${this.exit.signal ? ` (signal ${this.exit.signal})` : ""} instead of 0`,
      );
    }
    return {
      clean: problems.length === 0,
      ms,
      detail:
        problems.length === 0
          ? `clean, exit 0 (${(ms / 1000).toFixed(1)} s)`
          : `${problems.join("; ")} (${(ms / 1000).toFixed(1)} s)`,
    };
  }

  /** Last resort (watchdog, Ctrl-C of the script): SIGKILL the group without waiting. */
  kill(): void {
    signal(-this.pid, "SIGKILL");
    ServiceProcess.running.delete(this);
  }
}

/** Sends a signal to a pid (negative: a process group) that may already be gone. */
export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/**
 * Anything the script started that still runs (it should be nothing by the end) is stopped:
 * every ServiceProcess, then any other descendant of this process (SIGTERM, SIGKILL after 10 s).
 * Returns what was found, for the report.
 */
export async function stopLeftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const service of [...ServiceProcess.running]) {
    found.push(`${service.label} (pid ${service.pid})`);
    await service.stop();
  }
  const children = descendants(process.pid);
  if (children.length > 0) {
    found.push(`${children.length} child process(es): ${children.join(", ")}`);
    for (const pid of children) signal(pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (children.some(isAlive) && Date.now() < deadline) await sleep(100);
    for (const pid of children.filter(isAlive)) signal(pid, "SIGKILL");
  }
  return found;
}

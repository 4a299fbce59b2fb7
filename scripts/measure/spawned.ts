import { spawn, type ChildProcess } from "node:child_process";
import { PROJECT_ROOT } from "../../platform/paths";
import { VARIABLES } from "../../subgraphs";
import { descendants, isAlive } from "./proc";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves to true when the promise settles within ms, false otherwise (the promise keeps running). */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** This shell's environment without any ORION variable, so only what a measurement sets is seen. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(VARIABLES)) {
    delete env[name];
    delete env[`${name}_FILE`];
  }
  return { ...env, ...extra };
}

/** Clean-ups of outside state (databases, Redis keys, queues) to run if this script is interrupted. */
export const onAbort = new Set<() => Promise<unknown>>();

export interface StopResult {
  /** Exited on SIGTERM by itself, with every process of its group gone, within the timeouts. */
  clean: boolean;
  ms: number;
  detail: string;
}

const OUTPUT_LIMIT = 64 * 1024;

/** A CLI process in its own process group (detached), its output kept for error reports. */
export class Spawned {
  static readonly running = new Set<Spawned>();
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly child: ChildProcess;
  private text = "";

  constructor(
    readonly label: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (this.child.pid === undefined) throw new Error(`${label}: spawn failed`);
    this.pid = this.child.pid;
    const keep = (chunk: Buffer) => {
      this.text = (this.text + chunk.toString("utf8")).slice(-OUTPUT_LIMIT);
    };
    this.child.stdout!.on("data", keep);
    this.child.stderr!.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    Spawned.running.add(this);
  }

  get output(): string {
    return this.text;
  }

  /** The last lines of output, for error messages. */
  tail(lines = 25): string {
    return this.text.trimEnd().split("\n").slice(-lines).join("\n");
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
      for (const pid of [-this.pid, ...left]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await within(this.exited, 5_000);
      problems.push("killed with SIGKILL");
    }
    const ms = Date.now() - started;
    Spawned.running.delete(this);
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

  /** Last resort (watchdog, Ctrl-C of this script): SIGKILL the group without waiting. */
  kill(): void {
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {
      // already gone
    }
    Spawned.running.delete(this);
  }
}

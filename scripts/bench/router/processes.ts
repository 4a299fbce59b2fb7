import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { PROJECT_ROOT } from "../../../platform/paths";

/**
 * A service under test in its own process group, its output written straight to a log file (not
 * piped through this process: the load generator must not pay for the services' logs).
 */
export class Child {
  static readonly running = new Set<Child>();
  readonly pid: number;
  readonly exited: Promise<void>;
  exit: string | null = null;
  private readonly process: ChildProcess;

  constructor(
    readonly label: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {
    const fd = openSync(logFile, "a");
    try {
      this.process = spawn(process.execPath, args, {
        cwd: PROJECT_ROOT,
        env,
        detached: true,
        stdio: ["ignore", fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    if (this.process.pid === undefined) throw new Error(`${label}: spawn failed`);
    this.pid = this.process.pid;
    this.exited = new Promise((resolve) =>
      this.process.once("exit", (code, signal) => {
        this.exit = `code ${code}, signal ${signal}`;
        resolve();
      }),
    );
    Child.running.add(this);
  }

  tail(lines = 30): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no output)";
    }
  }

  /** Why it can no longer become ready, or null while it runs. */
  failure(): string | null {
    return this.exit ? `${this.label} exited (${this.exit}); last output:\n${this.tail()}` : null;
  }

  /** SIGTERM to its group; SIGKILL after timeoutMs. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.exit) {
      signal(-this.pid, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        signal(-this.pid, "SIGKILL");
        await this.exited;
      }
    }
    Child.running.delete(this);
  }

  kill(): void {
    signal(-this.pid, "SIGKILL");
    Child.running.delete(this);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    ports.add(
      await new Promise<number>((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as { port: number };
          server.close(() => resolve(port));
        });
      }),
    );
  }
  return [...ports];
}

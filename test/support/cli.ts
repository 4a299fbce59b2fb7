import { spawn } from "node:child_process";
import os from "node:os";

import { PROJECT_ROOT } from "../../platform/paths";

/**
 * The operator's `orion` command, run from source as a separate process, exactly as typed, with only
 * PATH, HOME, LOG_LEVEL=warn and `env` in its environment.
 */
export function orion(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["-r", "@swc-node/register", "cli/main.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

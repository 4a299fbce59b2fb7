import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

import { orion } from "../support/cli";

// `orion schema usage export` when it cannot do its job: one line on stderr, never a stack; exit 2
// when the command or its configuration must change, 1 when Redis could not be used (decision 011).

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function run(args: string[], env: Record<string, string> = {}) {
  const child = orion(["schema", "usage", "export", ...args], env);
  const code = await child.exited;
  return { code, ...child.output() };
}

describe("orion schema usage export", () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "orion-usage-cli-"));
  const out = path.join(folder, "usage.json");
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it.each([
    ["--out is missing", [], { REDIS_URL: "redis://127.0.0.1:6379" }, /required option '--out <file>'/],
    [
      "--days is not a whole number",
      ["--out", out, "--days", "1.5"],
      { REDIS_URL: "redis://127.0.0.1:6379" },
      /--days/,
    ],
    ["REDIS_URL is not set", ["--out", out], {}, /REDIS_URL: is required/],
    [
      "the output folder does not exist",
      ["--out", path.join(folder, "missing", "usage.json")],
      { REDIS_URL: "redis://127.0.0.1:6379" },
      /folder .* does not exist/,
    ],
  ])(
    "exits 2 when %s",
    async (_case, args, env, message) => {
      const result = await run(args, env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    },
    30_000,
  );

  it("exits 1 with one line naming Redis, password hidden, when Redis is unreachable", async () => {
    const port = await closedPort();
    const result = await run(["--out", out], { REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      new RegExp(`^error: cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`),
    );
    expect(result.stderr).not.toContain("hunter2");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  }, 30_000);
});

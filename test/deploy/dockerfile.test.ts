import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

import { ROOT } from "./support";

// docker/Dockerfile read as text (Docker does not run here): the rules that keep the one image right for
// every service, plus the health probe script the image ships.

const DOCKER_DIR = join(ROOT, "docker");

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions grouped by stage: continuation lines joined, comments and the parser directive dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === "FROM") {
      const [image = "", as, name] = args.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const all = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const exec = (args: string | undefined): unknown => (args?.startsWith("[") ? JSON.parse(args) : args);

function setup() {
  const stages = parseDockerfile(readFileSync(join(DOCKER_DIR, "Dockerfile"), "utf8"));
  const final = stages.at(-1)!;
  const build = stages.find((stage) => stage.name === "build");
  // The exact Node version .ci/run runs the test suite on (besides the machine's own).
  const testedNode = readFileSync(join(ROOT, ".nvmrc"), "utf8").trim();
  return { stages, final, build, testedNode };
}

describe("docker/Dockerfile", () => {
  const { stages, final, build, testedNode } = setup();

  test("is multi-stage, every stage on node:24-bookworm-slim, the Node line CI tests on (.nvmrc)", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(testedNode).toMatch(/^24\.\d+\.\d+$/);
    for (const stage of stages) expect(stage.image).toBe(`node:${testedNode.split(".")[0]}-bookworm-slim`);
  });

  test("the build stage refuses a Node that package.json's engines, or any dependency's, does not accept", () => {
    expect(all(build!, "RUN").some((args) => /\bnpm ci\b.*--engine-strict/.test(args))).toBe(true);
  });

  test("the build stage installs from the lock, compiles, then drops dev dependencies, in that order", () => {
    const runs = all(build!, "RUN").join("\n");
    const steps = ["npm ci", "npm run build", "npm prune --omit=dev"].map((step) => runs.indexOf(step));
    expect(steps.every((at) => at >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  });

  test("the final stage runs as a non-root user", () => {
    const user = all(final, "USER").at(-1);
    expect(user).toBeDefined();
    expect(user!.split(":")[0]).not.toMatch(/^(root|0)$/);
  });

  test("the final stage starts dist/cli/main.js with node, serving the router by default, in production", () => {
    expect(exec(all(final, "ENTRYPOINT").at(-1))).toEqual(["node", "dist/cli/main.js"]);
    expect(exec(all(final, "CMD").at(-1))).toEqual(["serve", "router"]);
    expect(all(final, "ENV")).toContain("NODE_ENV=production");
  });

  test.each(["dist", "node_modules", "package.json", "schema"])(
    "the final stage takes %s from the build stage",
    (path) => {
      const copied = all(final, "COPY").filter((args) => args.includes(`--from=${build!.name}`));
      expect(copied.some((args) => args.split(/\s+/).includes(`/app/${path}`))).toBe(true);
    },
  );

  test("every file the final stage copies from the build context exists", () => {
    const sources = all(final, "COPY")
      .filter((args) => !args.includes("--from="))
      .flatMap((args) =>
        args
          .split(/\s+/)
          .filter((word) => !word.startsWith("--"))
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources)
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
  });

  test("the image health check runs on node (slim images have no curl)", () => {
    expect(all(final, "HEALTHCHECK").at(-1)).toMatch(/CMD \["node",/);
  });
});

describe("docker/Dockerfile.dockerignore", () => {
  const patterns = readFileSync(join(DOCKER_DIR, "Dockerfile.dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.replace(/^\*\*\//, "").replace(/^\/|\/$/g, ""));

  test.each(["node_modules", "dist", ".orion", ".git", "docker/secrets"])(
    "keeps %s out of the build context",
    (path) => {
      expect(patterns).toContain(path);
    },
  );
});

describe("docker/healthcheck.cjs <url>", () => {
  /** Runs the probe against a local server answering `status` (or against a closed port) and returns its exit code. */
  async function probe(status: number | "closed"): Promise<number | null> {
    const server: Server = createServer((_request, response) => response.writeHead(status as number).end());
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    const { port } = server.address() as AddressInfo;
    if (status === "closed") await new Promise((closed) => server.close(closed));
    try {
      const child = spawn(process.execPath, [
        join(DOCKER_DIR, "healthcheck.cjs"),
        `http://127.0.0.1:${port}/ready`,
      ]);
      return await new Promise((exited) => child.on("exit", exited));
    } finally {
      server.close();
    }
  }

  test.each([
    { status: 200 as const, answer: "200", code: 0 },
    { status: 503 as const, answer: "503", code: 1 },
    { status: "closed" as const, answer: "nothing (port closed)", code: 1 },
  ])("exits $code when the service answers $answer", async ({ status, code }) => {
    expect(await probe(status)).toBe(code);
  });
});

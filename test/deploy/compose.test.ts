import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

import { parse } from "yaml";

import { SERVICE_NAMES, SUBGRAPH_NAMES } from "../../platform/config";
import {
  type Env,
  envProblems,
  KEY_FILES,
  parseWorkload,
  ROOT,
  servicePort,
  urlsIn,
  type Workload,
} from "./support";

// docker/compose.yaml, read as Docker Compose reads it (YAML merge keys included), checked against
// platform/config.ts and against itself. Docker is not needed: nothing is started.

const COMPOSE_FILE = join(ROOT, "docker", "compose.yaml");
const COMPOSE_DIR = dirname(COMPOSE_FILE);

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  secrets?: Array<string | { source: string; target?: string }>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: Array<string | { target: number; published?: string | number }>;
  restart?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string }>;
}

function setup() {
  const compose = parse(readFileSync(COMPOSE_FILE, "utf8"), { merge: true }) as ComposeFile;
  const services = Object.entries(compose.services);
  // ORION containers: built from our Dockerfile, running `serve <service>` or `migrate <subgraph>`.
  const orion = services.flatMap(([name, service]) => {
    const workload = service.build ? parseWorkload(service.command) : undefined;
    return workload ? [{ name, service, workload, env: environmentOf(service) }] : [];
  });
  return { compose, services, orion };
}

function environmentOf(service: ComposeService): Env {
  const entries = Array.isArray(service.environment)
    ? service.environment.map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string])
    : Object.entries(service.environment ?? {}).map(([name, value]) => [
        name,
        value == null ? "" : String(value),
      ]);
  return new Map(entries as Array<[string, string]>);
}

function dependenciesOf(service: ComposeService): Map<string, string> {
  const deps = service.depends_on ?? [];
  return Array.isArray(deps)
    ? new Map(deps.map((name) => [name, "service_started"]))
    : new Map(Object.entries(deps).map(([name, dep]) => [name, dep.condition ?? "service_started"]));
}

/** Where each secret is mounted in the container: /run/secrets/<target or source>. */
function mountedSecrets(service: ComposeService): Map<string, string> {
  return new Map(
    (service.secrets ?? []).map((entry) => {
      const { source, target } = typeof entry === "string" ? { source: entry, target: undefined } : entry;
      return [target?.startsWith("/") ? target : `/run/secrets/${target ?? source}`, source];
    }),
  );
}

const label = ({ name, workload }: { name: string; workload: Workload }) =>
  `${name} (${workload.verb} ${workload.service})`;
const { compose, services, orion } = setup();
const served = orion.filter((c) => c.workload.verb === "serve");
const migrations = orion.filter((c) => c.workload.verb === "migrate");
const oneShot = new Set(migrations.map((c) => c.name));

describe("docker/compose.yaml", () => {
  test("serves each of the five services in exactly one container", () => {
    expect(served.map((c) => c.workload.service).sort()).toEqual([...SERVICE_NAMES].sort());
  });

  test("builds every ORION container from docker/Dockerfile with the repository as context", () => {
    for (const { name, service } of orion) {
      const context = resolve(COMPOSE_DIR, service.build?.context ?? ".");
      expect({ name, context }).toEqual({ name, context: ROOT });
      expect(existsSync(join(context, service.build?.dockerfile ?? "Dockerfile"))).toBe(true);
    }
  });

  test("publishes the router on port 3000", () => {
    const router = served.find((c) => c.workload.service === "router");
    expect(router?.service.ports).toContainEqual("3000:3000");
  });

  test.each(services.filter(([name]) => !oneShot.has(name)))("%s has a healthcheck", (_name, service) => {
    expect(service.healthcheck?.test).toBeDefined();
    expect(service.healthcheck?.disable).not.toBe(true);
  });

  test.each(served.map((c) => [label(c), c] as const))(
    "%s: its healthcheck asks /ready on the port it listens on",
    (_label, { service, workload, env }) => {
      const command = [service.healthcheck?.test ?? []].flat().join(" ");
      expect(command).toContain(`http://127.0.0.1:${servicePort(workload.service, env)}/ready`);
    },
  );

  test("runs each subgraph's migrations to completion before serving it", () => {
    for (const subgraph of SUBGRAPH_NAMES) {
      const job = migrations.find((c) => c.workload.service === subgraph);
      const server = served.find((c) => c.workload.service === subgraph);
      expect({ subgraph, job: job?.name }).toEqual({ subgraph, job: expect.any(String) });
      expect(job?.service.restart).toBe("no");
      expect(dependenciesOf(server!.service).get(job!.name)).toBe("service_completed_successfully");
    }
  });

  test.each(services)(
    "%s depends only on services that exist, once they are healthy or done",
    (_name, service) => {
      for (const [dependency, condition] of dependenciesOf(service)) {
        expect(Object.keys(compose.services)).toContain(dependency);
        const expected = oneShot.has(dependency) ? "service_completed_successfully" : "service_healthy";
        expect({ dependency, condition }).toEqual({ dependency, condition: expected });
      }
    },
  );

  test.each(orion.map((c) => [label(c), c] as const))(
    "%s: its environment satisfies platform/config.ts",
    (_label, { workload, env }) => {
      expect(envProblems(workload.service, env)).toEqual([]);
    },
  );

  test.each(orion.map((c) => [label(c), c] as const))(
    "%s: every *_FILE variable names a secret mounted into it",
    (_label, { service, env }) => {
      const mounted = mountedSecrets(service);
      for (const [name, path] of env) {
        if (!name.endsWith("_FILE")) continue;
        const secret = mounted.get(path ?? "");
        expect({ name, path, secret }).toEqual({ name, path, secret: expect.any(String) });
        expect(Object.keys(compose.secrets ?? {})).toContain(secret);
      }
    },
  );

  test.each(orion.map((c) => [label(c), c] as const))(
    "%s: connects only to services it waits for, on the ports they listen on",
    (_label, { service, workload, env }) => {
      const dependencies = dependenciesOf(service);
      // `migrate` is given its service's whole configuration but only opens the database.
      const connections = urlsIn(env).filter(
        ({ name }) => workload.verb === "serve" || name.endsWith("_DATABASE_URL"),
      );
      for (const { name, url } of connections) {
        expect({ name, host: url.hostname, waitsFor: dependencies.has(url.hostname) }).toEqual({
          name,
          host: url.hostname,
          waitsFor: true,
        });
        const target = served.find((c) => c.name === url.hostname);
        if (target) expect(Number(url.port)).toBe(servicePort(target.workload.service, target.env));
      }
    },
  );

  test.each([
    { infra: "postgres", user: "POSTGRES_USER", password: "POSTGRES_PASSWORD" },
    { infra: "rabbitmq", user: "RABBITMQ_DEFAULT_USER", password: "RABBITMQ_DEFAULT_PASS" },
  ])("URLs to $infra carry the credentials it is configured with", ({ infra, user, password }) => {
    const configured = environmentOf(compose.services[infra]!);
    const urls = orion.flatMap((c) => urlsIn(c.env)).filter(({ url }) => url.hostname === infra);
    expect(urls.length).toBeGreaterThan(0);
    for (const { name, url } of urls) {
      expect({ name, user: url.username, password: url.password }).toEqual({
        name,
        user: configured.get(user),
        password: configured.get(password),
      });
    }
  });

  test("the postgres init script creates every database a *_DATABASE_URL names", () => {
    const postgres = compose.services.postgres as { volumes?: string[] };
    const initScripts = (postgres.volumes ?? [])
      .map((volume) => volume.split(":"))
      .filter(([, target]) => target?.startsWith("/docker-entrypoint-initdb.d/"))
      .map(([source]) => readFileSync(resolve(COMPOSE_DIR, source!), "utf8"));
    const created = new Set(
      initScripts.flatMap((sql) => [...sql.matchAll(/^\s*CREATE DATABASE\s+"?(\w+)"?/gim)].map((m) => m[1])),
    );
    const named = orion.flatMap((c) =>
      urlsIn(c.env)
        .filter(({ name }) => name.endsWith("_DATABASE_URL"))
        .map(({ url }) => url.pathname.slice(1)),
    );
    expect(new Set(named)).toEqual(new Set(SUBGRAPH_NAMES.map((s) => `orion_${s}`)));
    for (const database of named) expect(created).toContain(database);
  });

  test("mounts as secrets exactly the key files `keys generate` writes, from git-ignored docker/secrets/", () => {
    const files = Object.values(compose.secrets ?? {}).map((secret) =>
      resolve(COMPOSE_DIR, secret.file ?? ""),
    );
    expect(files.map((file) => basename(file)).sort()).toEqual([...KEY_FILES].sort());
    for (const file of files) expect(dirname(file)).toBe(join(COMPOSE_DIR, "secrets"));
    const ignore = readFileSync(join(COMPOSE_DIR, "secrets", ".gitignore"), "utf8").split("\n");
    expect(ignore).toEqual(expect.arrayContaining(["*", "!.gitignore"]));
  });
});

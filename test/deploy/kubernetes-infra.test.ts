import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IContainer } from "kubernetes-models/v1/Container";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";

import { SUBGRAPH_NAMES } from "../../platform/config";
import {
  CLUSTER_SCOPED,
  id,
  INFRA_TARGETS,
  type KubeObject,
  renderOnce,
  TARGETS,
  testValidObjects,
} from "./kustomize";
import { selects } from "./workload-pods";

// The infrastructure ORION's pods use (PostgreSQL per subgraph, Redis, RabbitMQ), and what no container of
// any kustomization may do: take a password on its command line.

describe.each(INFRA_TARGETS)("$dir", (target) => {
  const objects = renderOnce(target.dir);
  const statefulSets = objects.filter(StatefulSet.is) as Array<StatefulSet & KubeObject>;
  const services = objects.filter(Service.is) as Array<Service & KubeObject>;

  testValidObjects(objects);

  test(`puts every object in namespace ${target.namespace}, which it creates`, () => {
    expect(objects.filter(Namespace.is).map((n) => n.metadata?.name)).toEqual([target.namespace]);
    for (const object of objects.filter((o) => !CLUSTER_SCOPED.has(o.kind))) {
      expect({ object: id(object), namespace: object.metadata.namespace }).toEqual({
        object: id(object),
        namespace: target.namespace,
      });
    }
  });

  test("runs one PostgreSQL per subgraph database, Redis and RabbitMQ", () => {
    expect(statefulSets.map((s) => s.metadata.name).sort()).toEqual(
      [...SUBGRAPH_NAMES.map((s) => `postgres-${s}`), "rabbitmq", "redis"].sort(),
    );
    for (const subgraph of SUBGRAPH_NAMES) {
      const env = statefulSets.find((s) => s.metadata.name === `postgres-${subgraph}`)!.spec!.template.spec!
        .containers[0]!.env;
      expect(env?.find((e) => e.name === "POSTGRES_DB")?.value).toBe(`orion_${subgraph}`);
    }
  });

  test.each(statefulSets.map((s) => [id(s), s] as const))(
    "%s: a persistent volume, probes, resources, non-root, and a Service that governs it",
    (_id, statefulSet) => {
      const spec = statefulSet.spec!;
      const container = spec.template.spec!.containers[0]!;
      const claims = (spec.volumeClaimTemplates ?? []).map((c) => c.metadata?.name);
      expect(claims.length).toBeGreaterThan(0);
      expect(container.volumeMounts?.map((m) => m.name)).toEqual(expect.arrayContaining(claims));
      expect(container.readinessProbe).toBeDefined();
      expect(container.livenessProbe).toBeDefined();
      for (const bound of ["requests", "limits"] as const) {
        expect(Object.keys(container.resources?.[bound] ?? {}).sort()).toEqual(["cpu", "memory"]);
      }
      expect(spec.template.spec!.securityContext?.runAsNonRoot).toBe(true);
      expect(spec.template.spec!.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
      const governing = services.find((s) => s.metadata.name === spec.serviceName);
      expect(selects(governing?.spec?.selector, spec.template.metadata?.labels)).toBe(true);
      expect(selects(spec.selector.matchLabels, spec.template.metadata?.labels)).toBe(true);
    },
  );

  test("commits no credentials: every password comes from a Secret the operator creates", () => {
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
    for (const { metadata, spec } of statefulSets) {
      for (const { name, value } of spec!.template.spec!.containers[0]!.env ?? []) {
        expect({ set: metadata.name, name, value: /PASS/i.test(name) ? value : undefined }).toEqual({
          set: metadata.name,
          name,
          value: undefined,
        });
      }
    }
  });

  test(`admits only pods of ${target.admits} (namespaceSelector of every ingress rule)`, () => {
    for (const policy of objects.filter(NetworkPolicy.is) as Array<NetworkPolicy & KubeObject>) {
      for (const peer of (policy.spec?.ingress ?? []).flatMap((rule) => rule.from ?? [{}])) {
        expect({ policy: policy.metadata?.name, namespace: peer.namespaceSelector?.matchLabels }).toEqual({
          policy: policy.metadata?.name,
          namespace: { "kubernetes.io/metadata.name": target.admits },
        });
      }
    }
  });

  test("Redis reads its password on stdin, not from its command line; the probes authenticate with REDISCLI_AUTH", () => {
    const redis = statefulSets.find((s) => s.metadata.name === "redis")!.spec!.template.spec!;
    const container = redis.containers[0]!;
    const script = [...(container.command ?? []), ...(container.args ?? [])].join(" ");
    // `redis-server -` reads its configuration (the requirepass line) from stdin.
    expect(script).toMatch(/\bexec redis-server - /);
    expect(script).not.toMatch(/--requirepass/);
    const secret = (name: string) => container.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    expect(secret("REDIS_PASSWORD")).toEqual({ name: "redis-credentials", key: "REDIS_PASSWORD" });
    expect(secret("REDISCLI_AUTH")).toEqual(secret("REDIS_PASSWORD"));
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(probe?.exec?.command).toEqual(["redis-cli", "ping"]);
    }
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(redis.securityContext?.runAsNonRoot).toBe(true);
  });
});

/**
 * What in a container's command and args would put a secret into a process's argv, where `ps` in the pod,
 * the node's process list and the container runtime's inspect show it: Kubernetes' `$(NAME)` expansion of
 * a variable a Secret fills (or whose name says it is a password, secret or token; `$$(NAME)` is a literal),
 * and a password given as a command-line option (`--requirepass $REDIS_PASSWORD` in a shell script as well).
 * A shell that reads `$NAME` into a here-document or a file keeps it out of every argv.
 */
function argvSecrets(container: IContainer): string[] {
  const fromSecrets = new Set(
    (container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name),
  );
  const found: string[] = [];
  for (const word of [...(container.command ?? []), ...(container.args ?? [])]) {
    for (const [reference, name] of word.matchAll(/(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
      if (fromSecrets.has(name!) || /PASS|SECRET|TOKEN/i.test(name!)) found.push(reference);
    }
    for (const [option] of word.matchAll(/--(requirepass|masterauth|pass(word)?)\b/gi)) found.push(option);
  }
  return found;
}

const allDirs = [...new Set([...TARGETS.map((t) => t.dir), ...INFRA_TARGETS.map((t) => t.dir)])];
test.each(allDirs)("%s: no container gets a password on its command line", (dir) => {
  const owners = renderOnce(dir).filter((o) => Deployment.is(o) || StatefulSet.is(o) || Job.is(o)) as Array<
    (Deployment | StatefulSet | Job) & KubeObject
  >;
  expect(owners.length).toBeGreaterThan(0);
  for (const owner of owners) {
    const spec = owner.spec!.template.spec!;
    for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
      expect({ owner: id(owner), container: container.name, argv: argvSecrets(container) }).toEqual({
        owner: id(owner),
        container: container.name,
        argv: [],
      });
    }
  }
});

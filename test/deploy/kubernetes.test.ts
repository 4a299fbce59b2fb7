import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import type { INetworkPolicyPort } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import { Namespace } from "kubernetes-models/v1/Namespace";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import { Service } from "kubernetes-models/v1/Service";
import { parseAllDocuments } from "yaml";
import { SERVICE_NAMES, SUBGRAPH_NAMES } from "../../platform/config";
import { VARIABLES } from "../../subgraphs";
import {
  envProblems,
  KEY_FILES,
  parseWorkload,
  ROOT,
  servicePort,
  urlsIn,
  type Env,
  type Workload,
} from "./support";

// Each kustomization rendered by `kubectl kustomize` (as `kubectl apply -k` would), every object validated
// against the Kubernetes API schema by kubernetes-models, then the rules ORION's deployments must keep.

// Expected scale per kustomization: staging exactly 2, production at least 5 (up to the HPA's maximum).
// `infra` is the namespace of the PostgreSQL/Redis/RabbitMQ that ORION's pods use, rendered by `infraDir`
// (production includes kubernetes/infra itself; the others are applied on their own).
const TARGETS = [
  {
    dir: "kubernetes/base",
    namespace: "orion-prod",
    infra: "orion-infra",
    infraDir: "kubernetes/infra",
    replicas: { min: 3, max: 3 },
    hpa: { min: 3, max: 10 },
    pinned: false,
  },
  {
    dir: "kubernetes/overlays/staging",
    namespace: "orion-staging",
    infra: "orion-staging-infra",
    infraDir: "kubernetes/overlays/staging-infra",
    replicas: { min: 2, max: 2 },
    hpa: { min: 2, max: 10 },
    pinned: true,
  },
  {
    dir: "kubernetes/overlays/production",
    namespace: "orion-prod",
    infra: "orion-infra",
    infraDir: "kubernetes/overlays/production",
    replicas: { min: 5, max: 10 },
    hpa: { min: 5, max: 10 },
    pinned: true,
  },
];

/** The infrastructure kustomizations, and the ORION namespace each one admits. */
const INFRA_TARGETS = [
  { dir: "kubernetes/infra", namespace: "orion-infra", admits: "orion-prod" },
  { dir: "kubernetes/overlays/staging-infra", namespace: "orion-staging-infra", admits: "orion-staging" },
];

/** The kinds ORION renders; anything else fails until its model is added here. */
const MODELS = [
  Namespace,
  ConfigMap,
  Service,
  Deployment,
  StatefulSet,
  Job,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
  NetworkPolicy,
  Ingress,
];
const CLUSTER_SCOPED = new Set(["Namespace"]);

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

const KUBECTL = process.env.KUBECTL ?? "kubectl";

const rendered = new Map<string, KubeObject[]>();
/** `render`, once per kustomization and test file. */
function renderOnce(dir: string): KubeObject[] {
  if (!rendered.has(dir)) rendered.set(dir, render(dir));
  return rendered.get(dir)!;
}

function render(dir: string): KubeObject[] {
  let output: string;
  try {
    output = execFileSync(KUBECTL, ["kustomize", isAbsolute(dir) ? dir : join(ROOT, dir)], {
      encoding: "utf8",
      stdio: "pipe",
    });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === "ENOENT") {
      throw new Error(
        `"${KUBECTL}" was not found, so ${dir} cannot be rendered: these tests need kubectl >= 1.27 ` +
          "(kustomize v5 built in) on PATH, or KUBECTL set to its path.",
        { cause: error },
      );
    }
    throw new Error(`${KUBECTL} kustomize ${dir} failed:\n${failure.stderr ?? failure.message}`, {
      cause: error,
    });
  }
  return parseAllDocuments(output).flatMap((document) => {
    if (document.errors.length > 0)
      throw new Error(`${dir} rendered invalid YAML: ${document.errors[0]!.message}`);
    const object = document.toJS() as KubeObject | null;
    return object ? [object] : [];
  });
}

const id = (object: KubeObject) => `${object.kind}/${object.metadata.name}`;

/** A pod an ORION workload (Deployment or Job) runs, with the container's environment resolved. */
interface Pod {
  id: string;
  owner: KubeObject;
  template: IPodTemplateSpec;
  container: IContainer;
  workload: Workload | undefined;
  env: Env;
  problems: string[];
}

function podsOf(objects: KubeObject[]): Pod[] {
  const configMaps = new Map<string, Record<string, string>>(
    objects.filter(ConfigMap.is).map((c) => [c.metadata!.name!, (c.data ?? {}) as Record<string, string>]),
  );
  const owners = [...objects.filter(Deployment.is), ...objects.filter(Job.is)] as Array<
    (Deployment | Job) & KubeObject
  >;
  return owners.map((owner) => {
    const template = owner.spec!.template;
    const containers = template.spec?.containers ?? [];
    const container = containers[0]!;
    const { env, problems } = resolveEnv(container, configMaps);
    if (containers.length !== 1) problems.push(`runs ${containers.length} containers, ORION pods run one`);
    return {
      id: id(owner),
      owner,
      template,
      container,
      workload: parseWorkload(container.args),
      env,
      problems,
    };
  });
}

/** What the container's environment will be: envFrom ConfigMaps expanded, Secret values left unknown. */
function resolveEnv(container: IContainer, configMaps: Map<string, Record<string, string>>) {
  const env: Env = new Map();
  const problems: string[] = [];
  for (const source of container.envFrom ?? []) {
    const data = source.configMapRef && configMaps.get(source.configMapRef.name ?? "");
    if (!data) {
      problems.push(
        `envFrom ${JSON.stringify(source)}: only ConfigMaps of this render (their keys can be checked)`,
      );
      continue;
    }
    for (const [name, value] of Object.entries(data)) env.set(name, value);
  }
  for (const { name, value, valueFrom } of container.env ?? []) {
    if (valueFrom?.configMapKeyRef) {
      const { name: map = "", key } = valueFrom.configMapKeyRef;
      const data = configMaps.get(map);
      if (data?.[key] === undefined) problems.push(`${name}: ConfigMap ${map} has no key ${key}`);
      env.set(name, data?.[key]);
    } else if (valueFrom?.secretKeyRef) {
      // Secrets are created by the operator (docs/deploy.md): name their keys after the variable they fill.
      const { name: secret, key } = valueFrom.secretKeyRef;
      if (key !== name) problems.push(`${name}: reads key ${key} of Secret ${secret}; name it ${name}`);
      env.set(name, undefined);
    } else {
      env.set(name, value ?? "");
    }
  }
  return { env, problems };
}

/** `*_FILE` variables must point at a key file of the orion-keys Secret mounted into the container. */
function keyFileProblems(pod: Pod): string[] {
  const problems: string[] = [];
  for (const [name, path] of pod.env) {
    if (!name.endsWith("_FILE") || path === undefined) continue;
    const mount = pod.container.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    const volume = pod.template.spec?.volumes?.find((v) => v.name === mount?.name);
    const file = mount ? path.slice(mount.mountPath.length + 1) : path;
    const item = volume?.secret?.items?.find((i) => i.path === file);
    if (volume?.secret?.secretName !== "orion-keys" || !item) {
      problems.push(`${name}=${path}: not a file of the orion-keys Secret mounted into the container`);
    } else if (!(KEY_FILES as readonly string[]).includes(item.key)) {
      problems.push(
        `${name}: orion-keys has no key ${item.key}; \`keys generate\` writes ${KEY_FILES.join(", ")}`,
      );
    }
  }
  return problems;
}

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

/** A Kubernetes label selector: every matchLabels pair and every matchExpressions requirement must hold. */
interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** Label-selector semantics of the API server: an empty selector selects everything. */
function matches(selector: Selector | undefined, labels: Record<string, string> = {}): boolean {
  if (selector === undefined) return false;
  const pairs = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return (
    pairs &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      switch (operator) {
        case "In":
          return key in labels && values.includes(labels[key]!);
        case "NotIn":
          return !(key in labels) || !values.includes(labels[key]!);
        case "Exists":
          return key in labels;
        case "DoesNotExist":
          return !(key in labels);
        default:
          throw new Error(`unknown selector operator ${operator}`);
      }
    })
  );
}

/** A pod, as NetworkPolicies see it: its namespace, its labels and its named container ports. */
interface NetworkPod {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ports: Record<string, number>;
}

/** The pods each Deployment, StatefulSet and Job of a render runs (one stands for all its replicas). */
function networkPods(objects: KubeObject[]): NetworkPod[] {
  const owners = [
    ...objects.filter(Deployment.is),
    ...objects.filter(StatefulSet.is),
    ...objects.filter(Job.is),
  ] as Array<(Deployment | StatefulSet | Job) & KubeObject>;
  return owners.map((owner) => ({
    name: owner.metadata.name,
    namespace: owner.metadata.namespace ?? "default",
    labels: (owner.spec!.template.metadata?.labels ?? {}) as Record<string, string>,
    ports: Object.fromEntries(
      (owner.spec!.template.spec?.containers ?? []).flatMap((c) =>
        (c.ports ?? []).filter((p) => p.name).map((p) => [p.name!, p.containerPort]),
      ),
    ),
  }));
}

/** An address outside the cluster (IPv4), as NetworkPolicies see it: matched by `ipBlock` peers only. */
interface OutsideAddress {
  ip: string;
}

/** One end of a connection: a pod (ports: its named container ports, for `port: http`) or an outside address. */
type Endpoint = (Omit<NetworkPod, "ports"> & { ports?: Record<string, number> }) | OutsideAddress;

type Protocol = "TCP" | "UDP" | "SCTP";

const isAddress = (endpoint: Endpoint): endpoint is OutsideAddress => "ip" in endpoint;

/** An IPv4 address as a 32-bit number. */
function ipv4(address: string): number {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${address}`);
  return parts.reduce((value, part) => value * 256 + part, 0);
}

/** Whether an IPv4 CIDR (`10.0.0.0/8`) holds an address. */
function inCidr(cidr: string, address: string): boolean {
  const [network = "", bits = "32"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(address) / size) === Math.floor(ipv4(network) / size);
}

/**
 * Whether one peer of a rule (an ingress rule's `from`, an egress rule's `to`) is the endpoint `other` of a
 * policy in namespace `namespace`. Pods are matched by namespace and labels, outside addresses by `ipBlock`
 * (its `except` respected). Pods are never in an ipBlock: their addresses are the cluster's private ones,
 * which ORION's only ipBlock excepts.
 */
function peerMatches(
  peer: INetworkPolicyPeer,
  namespace: string,
  other: Endpoint,
  namespaceLabels: (namespace: string) => Record<string, string>,
): boolean {
  const { namespaceSelector, podSelector, ipBlock } = peer;
  if (isAddress(other))
    return (
      ipBlock !== undefined &&
      inCidr(ipBlock.cidr, other.ip) &&
      !(ipBlock.except ?? []).some((c) => inCidr(c, other.ip))
    );
  if (ipBlock) return false;
  const namespaceOk = namespaceSelector
    ? matches(namespaceSelector as Selector, namespaceLabels(other.namespace))
    : other.namespace === namespace;
  const podOk = podSelector ? matches(podSelector as Selector, other.labels) : true;
  return namespaceOk && podOk;
}

/** Whether a rule's `ports` cover `port`/`protocol` on the destination (named ports: the destination pod's). */
function portMatches(
  ports: INetworkPolicyPort[] | undefined,
  port: number,
  protocol: Protocol,
  destination: Endpoint,
): boolean {
  const named = isAddress(destination) ? {} : (destination.ports ?? {});
  return (
    ports === undefined ||
    ports.length === 0 ||
    ports.some(({ protocol: p = "TCP", port: first, endPort }) => {
      if (p !== protocol) return false;
      if (first === undefined) return true;
      const number = typeof first === "number" ? first : named[first];
      return (
        number !== undefined && (endPort === undefined ? port === number : port >= number && port <= endPort)
      );
    })
  );
}

/** The policies of a render that isolate `pod` for one direction (policyTypes defaults as the API server's). */
function isolating(
  policies: NetworkPolicy[],
  pod: Omit<NetworkPod, "ports">,
  direction: "Ingress" | "Egress",
) {
  return policies.filter(
    (policy) =>
      (policy.metadata?.namespace ?? "default") === pod.namespace &&
      matches(policy.spec?.podSelector as Selector, pod.labels) &&
      (policy.spec?.policyTypes ?? (policy.spec?.egress ? ["Ingress", "Egress"] : ["Ingress"])).includes(
        direction,
      ),
  );
}

/**
 * Whether the NetworkPolicies of a render let a connection from `from` to `to` on `port` (TCP unless
 * `protocol` says otherwise) pass one side: `Ingress`, the receiver's policies, or `Egress`, the
 * sender's. A pod no policy of that direction selects lets everything pass; a selected pod what at
 * least one rule of one selecting policy allows (no peers or a matching one, no ports or a matching one).
 */
function policiesAllow(
  direction: "Ingress" | "Egress",
  policies: NetworkPolicy[],
  namespaceLabels: (namespace: string) => Record<string, string>,
  from: Endpoint,
  to: Endpoint,
  port: number,
  protocol: Protocol,
): boolean {
  const [own, other] = direction === "Ingress" ? [to, from] : [from, to];
  if (isAddress(own)) throw new Error(`${direction} is decided by a pod's policies, not by ${own.ip}`);
  const selecting = isolating(policies, own, direction);
  if (selecting.length === 0) return true;
  const rules = (policy: NetworkPolicy) =>
    direction === "Ingress"
      ? (policy.spec?.ingress ?? []).map((rule) => ({ peers: rule.from, ports: rule.ports }))
      : (policy.spec?.egress ?? []).map((rule) => ({ peers: rule.to, ports: rule.ports }));
  return selecting.some((policy) =>
    rules(policy).some(
      ({ peers, ports }) =>
        (peers === undefined ||
          peers.length === 0 ||
          peers.some((peer) => peerMatches(peer, own.namespace, other, namespaceLabels))) &&
        portMatches(ports, port, protocol, to),
    ),
  );
}

/** Whether `to` accepts a connection from `from` (its Ingress policies). */
function ingressAllowed(
  policies: NetworkPolicy[],
  namespaceLabels: (namespace: string) => Record<string, string>,
  from: Endpoint,
  to: NetworkPod,
  port: number,
  protocol: Protocol = "TCP",
): boolean {
  return policiesAllow("Ingress", policies, namespaceLabels, from, to, port, protocol);
}

/** Whether `from` may open a connection to `to`, a pod of any namespace or an outside address (its Egress policies). */
function egressAllowed(
  policies: NetworkPolicy[],
  namespaceLabels: (namespace: string) => Record<string, string>,
  from: Omit<NetworkPod, "ports">,
  to: Endpoint,
  port: number,
  protocol: Protocol = "TCP",
): boolean {
  return policiesAllow("Egress", policies, namespaceLabels, from, to, port, protocol);
}

/** A size as Express (`100kb`) or nginx (`100k`, `1m`) writes it, in bytes (both count 1k as 1024). */
function bytes(size: string): number {
  const match = /^(\d+)\s*([kmg]?)b?$/i.exec(size.trim());
  if (!match) throw new Error(`not a size: ${size}`);
  return Number(match[1]) * 1024 ** " kmg".indexOf(match[2]!.toLowerCase() || " ");
}

/** One test per object: kubernetes-models validates it against the Kubernetes API schema. */
function testValidObjects(objects: KubeObject[]): void {
  test.each(objects.map((object) => [id(object), object] as const))(
    "%s is a valid Kubernetes object",
    (_id, object) => {
      const Model = MODELS.find((m) => m.apiVersion === object.apiVersion && m.kind === object.kind);
      if (!Model)
        throw new Error(
          `no kubernetes-models class for ${object.apiVersion} ${object.kind}: add it to MODELS`,
        );
      expect(() => new Model(object as never).validate()).not.toThrow();
    },
  );
}

describe.each(TARGETS)("$dir", (target) => {
  const rendered = renderOnce(target.dir);
  // ORION's own objects; the production overlay also renders the infrastructure (tested further down).
  const objects = rendered.filter(
    (o) => CLUSTER_SCOPED.has(o.kind) || o.metadata.namespace === target.namespace,
  );
  const pods = podsOf(objects);
  const servers = pods.filter((pod) => pod.workload?.verb === "serve");
  const deployments = objects.filter(Deployment.is) as Array<Deployment & KubeObject>;
  const services = objects.filter(Service.is) as Array<Service & KubeObject>;
  const hpas = objects.filter(HorizontalPodAutoscaler.is) as Array<HorizontalPodAutoscaler & KubeObject>;
  const byId = <T extends KubeObject>(list: T[]) => list.map((object) => [id(object), object] as const);

  testValidObjects(rendered);

  const namespaces = target.infraDir === target.dir ? [target.namespace, target.infra] : [target.namespace];
  test(`puts every object in namespace ${namespaces.join(" or ")}, which it creates`, () => {
    expect(
      rendered
        .filter(Namespace.is)
        .map((n) => n.metadata?.name)
        .sort(),
    ).toEqual([...namespaces].sort());
    for (const object of rendered.filter((o) => !CLUSTER_SCOPED.has(o.kind))) {
      expect({ object: id(object), namespace: object.metadata.namespace }).toEqual({
        object: id(object),
        namespace: expect.stringMatching(new RegExp(`^(${namespaces.join("|")})$`)),
      });
    }
  });

  test("serves each of the five services from one Deployment, behind a Service on its port", () => {
    expect(servers.map((pod) => pod.workload!.service).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const pod of servers) {
      expect(pod.owner.kind).toBe("Deployment");
      const service = services.find((s) => s.metadata.name === pod.workload!.service);
      const port = service?.spec?.ports?.find((p) => p.port === servicePort(pod.workload!.service, pod.env));
      expect({ pod: pod.id, targetPort: port?.targetPort }).toEqual({ pod: pod.id, targetPort: "http" });
      const http = pod.container.ports?.find((p) => p.name === "http");
      expect(http?.containerPort).toBe(servicePort(pod.workload!.service, pod.env));
    }
  });

  test.each(byId(services))(
    "%s selects the pods of exactly one Deployment, never a Job's",
    (_id, service) => {
      const selected = pods.filter((pod) => selects(service.spec?.selector, pod.template.metadata?.labels));
      expect(selected.map((pod) => pod.owner.kind)).toEqual(["Deployment"]);
    },
  );

  test("migrates each subgraph's database with a Job", () => {
    const migrated = pods.filter((pod) => pod.workload?.verb === "migrate");
    expect(migrated.every((pod) => pod.owner.kind === "Job")).toBe(true);
    expect(migrated.map((pod) => pod.workload!.service).sort()).toEqual([...SUBGRAPH_NAMES].sort());
  });

  test.each(byId(deployments))(
    "%s: readiness probes /ready and liveness /health on the http port",
    (_id, deployment) => {
      const container = deployment.spec!.template.spec!.containers[0]!;
      expect(container.readinessProbe?.httpGet).toEqual({ path: "/ready", port: "http" });
      expect(container.livenessProbe?.httpGet).toEqual({ path: "/health", port: "http" });
    },
  );

  test.each(pods.map((pod) => [pod.id, pod] as const))(
    "%s: requests and limits CPU and memory",
    (_id, { container }) => {
      for (const bound of ["requests", "limits"] as const) {
        expect(Object.keys(container.resources?.[bound] ?? {}).sort()).toEqual(["cpu", "memory"]);
      }
    },
  );

  test.each(pods.map((pod) => [pod.id, pod] as const))(
    "%s: runs as non-root, cannot escalate, and gets no service-link variables",
    (_id, { template, container }) => {
      const pod = template.spec!;
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      // The kubelet can prove "non-root" only for a numeric uid (the image says USER node).
      expect(pod.securityContext?.runAsUser ?? container.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
      // Service links would set AUTH_PORT=tcp://... for the Service `auth`, clobbering ORION's AUTH_PORT.
      expect(pod.enableServiceLinks).toBe(false);
    },
  );

  test.each(pods.map((pod) => [pod.id, pod] as const))(
    "%s: runs `serve` or `migrate` with an environment that satisfies platform/config.ts",
    (_id, pod) => {
      expect(pod.workload).toBeDefined();
      expect([
        ...pod.problems,
        ...envProblems(pod.workload!.service, pod.env),
        ...keyFileProblems(pod),
      ]).toEqual([]);
    },
  );

  test.each(pods.map((pod) => [pod.id, pod] as const))(
    "%s: its http URLs reach Services of this deployment on their ports",
    (_id, { env }) => {
      for (const { name, url } of urlsIn(env).filter(({ url }) => url.protocol.startsWith("http"))) {
        const service = services.find((s) => s.metadata.name === url.hostname);
        const ports = service?.spec?.ports?.map((p) => String(p.port));
        expect({ name, host: url.hostname, port: url.port, ports }).toEqual({
          name,
          host: url.hostname,
          port: url.port,
          ports: expect.arrayContaining([url.port]),
        });
      }
    },
  );

  test(`runs the orion image${target.pinned ? " at a pinned tag, never :latest" : ""}`, () => {
    for (const { id: pod, container } of pods) {
      const [name, tag] = (container.image ?? "").split(":");
      expect({ pod, name: name!.split("/").at(-1) }).toEqual({ pod, name: "orion" });
      if (target.pinned) expect({ pod, tag }).toEqual({ pod, tag: expect.not.stringMatching(/^(latest)?$/) });
    }
  });

  test.each(byId(deployments))(
    `%s: starts ${target.replicas.min}-${target.replicas.max} replicas`,
    (_id, deployment) => {
      expect(deployment.spec?.replicas).toBeGreaterThanOrEqual(target.replicas.min);
      expect(deployment.spec?.replicas).toBeLessThanOrEqual(target.replicas.max);
    },
  );

  test("scales every Deployment with exactly one HorizontalPodAutoscaler", () => {
    const scaled = hpas.map((hpa) => `${hpa.spec?.scaleTargetRef.kind}/${hpa.spec?.scaleTargetRef.name}`);
    expect(scaled.sort()).toEqual(deployments.map(id).sort());
  });

  test.each(byId(hpas))(
    `%s: ${target.hpa.min}-${target.hpa.max} replicas at 70% CPU and 80% memory`,
    (_id, hpa) => {
      expect({ min: hpa.spec?.minReplicas, max: hpa.spec?.maxReplicas }).toEqual(target.hpa);
      const targets = Object.fromEntries(
        (hpa.spec?.metrics ?? []).map((m) => [m.resource?.name, m.resource?.target]),
      );
      expect(targets).toEqual({
        cpu: { type: "Utilization", averageUtilization: 70 },
        memory: { type: "Utilization", averageUtilization: 80 },
      });
    },
  );

  test.each(byId(deployments))("%s: Prometheus scrapes /metrics on its http port", (_id, deployment) => {
    const template = deployment.spec!.template;
    const http = template.spec!.containers[0]!.ports?.find((p) => p.name === "http");
    expect(template.metadata?.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/path": "/metrics",
      "prometheus.io/port": String(http?.containerPort),
    });
  });

  test("the router reads the supergraph from the `supergraph` ConfigMap: the one schema:compose wrote", () => {
    const router = servers.find((pod) => pod.workload!.service === "router")!;
    const path = router.env.get("SUPERGRAPH_PATH") ?? "";
    const mount = router.container.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    const volume = router.template.spec?.volumes?.find((v) => v.name === mount?.name);
    const file = mount ? path.slice(mount.mountPath.length + 1) : path;
    const key = volume?.configMap?.items?.find((i) => i.path === file)?.key ?? file;
    const configMap = (objects.filter(ConfigMap.is) as Array<ConfigMap & KubeObject>).find(
      (c) => c.metadata?.name === volume?.configMap?.name,
    );
    expect(configMap?.metadata?.name).toMatch(/^supergraph-/);
    expect(configMap?.data?.[key]).toBe(readFileSync(join(ROOT, "schema", "supergraph.graphql"), "utf8"));
  });

  describe("Ingress", () => {
    const ingresses = objects.filter(Ingress.is) as Array<Ingress & KubeObject>;
    const router = servers.find((pod) => pod.workload!.service === "router")!;
    const setting = (name: "BODY_LIMIT" | "SUBGRAPH_TIMEOUT_MS") =>
      String(VARIABLES[name].schema.parse(router.env.get(name)));

    test("one nginx Ingress, with TLS for each of its hosts, in front of the router Service's port", () => {
      expect(ingresses).toHaveLength(1);
      const spec = ingresses[0]!.spec!;
      expect(spec.ingressClassName).toBe("nginx");
      const hosts = (spec.rules ?? []).map((rule) => rule.host);
      expect(hosts.length).toBeGreaterThan(0);
      expect((spec.tls ?? []).flatMap((t) => t.hosts ?? []).sort()).toEqual([...hosts].sort());
      expect(spec.tls?.every((t) => t.secretName)).toBe(true);
      const backends = (spec.rules ?? []).flatMap((rule) => rule.http?.paths ?? []).map((p) => p.backend);
      expect(backends.length).toBeGreaterThan(0);
      for (const backend of backends) {
        const service = services.find((s) => s.metadata.name === backend.service?.name);
        expect(service?.spec?.selector).toEqual({ "app.kubernetes.io/name": "router" });
        const { name, number } = backend.service?.port ?? {};
        expect(service?.spec?.ports?.some((p) => p.name === name || p.port === number)).toBe(true);
      }
    });

    test("nginx takes the bodies the router takes (BODY_LIMIT) and waits longer than a subgraph fetch", () => {
      const annotations = ingresses[0]!.metadata!.annotations ?? {};
      const annotation = (name: string) => annotations[`nginx.ingress.kubernetes.io/${name}`] ?? "";
      expect(bytes(annotation("proxy-body-size"))).toBe(bytes(setting("BODY_LIMIT")));
      const subgraphTimeout = Number(setting("SUBGRAPH_TIMEOUT_MS"));
      for (const timeout of ["proxy-read-timeout", "proxy-send-timeout"]) {
        const longer = Number(annotation(timeout)) * 1000 > subgraphTimeout;
        expect({ timeout, longerThanSubgraphTimeout: longer }).toEqual({
          timeout,
          longerThanSubgraphTimeout: true,
        });
      }
    });
  });

  describe("NetworkPolicies", () => {
    const world = [...rendered, ...(target.infraDir === target.dir ? [] : renderOnce(target.infraDir))];
    const policies = world.filter(NetworkPolicy.is) as Array<NetworkPolicy & KubeObject>;
    const all = networkPods(world);
    const namespaceLabels = (namespace: string) => ({
      ...(world.filter(Namespace.is).find((n) => n.metadata?.name === namespace)?.metadata?.labels ?? {}),
      "kubernetes.io/metadata.name": namespace,
    });
    const pod = (name: string) => {
      const found = all.find((p) => p.name === name);
      if (!found) throw new Error(`no workload ${name} in ${target.dir} + ${target.infraDir}`);
      return found;
    };
    const outside = (
      namespace: string,
      name: string,
      labels: Record<string, string> = { "app.kubernetes.io/name": name },
    ): NetworkPod => ({ name, namespace, labels, ports: {} });
    const nginx = outside("ingress-nginx", "ingress-nginx");
    const prometheus = outside("monitoring", "prometheus");
    const stranger = outside("default", "stranger");
    const collector = outside("monitoring", "otel-collector");
    const kubeDns = outside("kube-system", "coredns", { "k8s-app": "kube-dns" });
    /** A public address (TEST-NET-3), one of each private range, carrier-grade NAT and the cloud metadata endpoint. */
    const internet: OutsideAddress = { ip: "203.0.113.7" };
    const privateAddresses: OutsideAddress[] = [
      "10.1.2.3",
      "172.16.5.4",
      "192.168.1.1",
      "100.64.0.1",
      "169.254.169.254",
    ].map((ip) => ({
      ip,
    }));
    // The port each destination is reached on: ORION's http port, the infrastructure's first port.
    const portOf = (to: NetworkPod) => to.ports.http ?? Object.values(to.ports)[0]!;
    /** Ingress only: whether `to` admits `from` (an outside pod) on its port. */
    const allowed = (from: Omit<NetworkPod, "ports">, to: string) =>
      ingressAllowed(policies, namespaceLabels, from, pod(to), portOf(pod(to)));
    /** Egress only: whether `from` may send to `to` (a pod or an outside address). */
    const sends = (from: NetworkPod, to: Endpoint, port: number, protocol: Protocol = "TCP") =>
      egressAllowed(policies, namespaceLabels, from, to, port, protocol);
    /** End to end: `from` may send and `to` accepts (an outside address accepts anything). */
    const connects = (
      from: string | NetworkPod,
      to: string | NetworkPod | OutsideAddress,
      port?: number,
      protocol: Protocol = "TCP",
    ) => {
      const source = typeof from === "string" ? pod(from) : from;
      const destination = typeof to === "string" ? pod(to) : to;
      if (isAddress(destination)) return sends(source, destination, port!, protocol);
      const number = port ?? portOf(destination);
      return (
        sends(source, destination, number, protocol) &&
        ingressAllowed(policies, namespaceLabels, source, destination, number, protocol)
      );
    };
    /** `from` reaches `to` on its port exactly when expected: by its own egress, and end to end. */
    const expectReach = (from: string, to: NetworkPod, expected: boolean) =>
      expect({
        from,
        to: to.name,
        connects: connects(from, to),
        sends: sends(pod(from), to, portOf(to)),
      }).toEqual({
        from,
        to: to.name,
        connects: expected,
        sends: expected,
      });
    const subgraphs = [...SUBGRAPH_NAMES];
    const serviceNames: readonly string[] = SERVICE_NAMES;
    const ours = all.filter((p) => [target.namespace, target.infra].includes(p.namespace));
    const infra = all.filter((p) => p.namespace === target.infra);
    const mailAndWebhooks = [25, 465, 587, 443];

    test("every pod of both namespaces is behind a default deny", () => {
      for (const to of ours) {
        expect({ to: to.name, stranger: allowed(stranger, to.name) }).toEqual({
          to: to.name,
          stranger: false,
        });
      }
    });

    test("every pod of both namespaces is behind a default deny for egress (but notification's mail and webhooks)", () => {
      for (const from of ours) {
        for (const port of [80, 443, 5432, 8080]) {
          expect({ from: from.name, port, stranger: sends(from, stranger, port) }).toEqual({
            from: from.name,
            port,
            stranger: false,
          });
        }
        for (const port of [22, 80, 443, 8080]) {
          const expected = from.name === "notification" && port === 443;
          expect({ from: from.name, port, internet: sends(from, internet, port) }).toEqual({
            from: from.name,
            port,
            internet: expected,
          });
        }
      }
    });

    test("every pod resolves names: kube-dns in kube-system on UDP and TCP 53, nothing else there", () => {
      const impostor = outside("default", "dns", { "k8s-app": "kube-dns" });
      const other = outside("kube-system", "metrics-server");
      for (const from of ours) {
        expect({
          from: from.name,
          udp: connects(from, kubeDns, 53, "UDP"),
          tcp: connects(from, kubeDns, 53, "TCP"),
          otherPort: sends(from, kubeDns, 80),
          otherPod: sends(from, other, 53, "UDP"),
          otherNamespace: sends(from, impostor, 53, "UDP"),
        }).toEqual({
          from: from.name,
          udp: true,
          tcp: true,
          otherPort: false,
          otherPod: false,
          otherNamespace: false,
        });
      }
    });

    test("the ingress controller reaches the router, and nothing else", () => {
      expect(allowed(nginx, "router")).toBe(true);
      for (const to of all.filter((p) => p.name !== "router").map((p) => p.name)) {
        expect({ to, allowed: allowed(nginx, to) }).toEqual({ to, allowed: false });
      }
    });

    test("Prometheus (namespace monitoring) scrapes the five services", () => {
      for (const to of SERVICE_NAMES)
        expect({ to, allowed: allowed(prometheus, to) }).toEqual({ to, allowed: true });
    });

    test("the subgraphs admit the router, not each other", () => {
      for (const to of subgraphs) {
        expect({ to, router: connects("router", to) }).toEqual({ to, router: true });
        for (const from of subgraphs.filter((s) => s !== to)) {
          expect({ from, to, allowed: connects(from, to) }).toEqual({ from, to, allowed: false });
        }
      }
    });

    test("the router connects to the four subgraphs and Redis: no database, RabbitMQ, Job or outside address", () => {
      for (const to of all.filter((p) => p.name !== "router")) {
        const expected = subgraphs.includes(to.name as (typeof subgraphs)[number]) || to.name === "redis";
        // Egress alone decides: the destination's ingress rules are not what stops the router.
        expect({
          to: to.name,
          connects: connects("router", to),
          sends: sends(pod("router"), to, portOf(to)),
        }).toEqual({ to: to.name, connects: expected, sends: expected });
      }
      for (const port of mailAndWebhooks) {
        expect({ port, internet: connects("router", internet, port) }).toEqual({ port, internet: false });
      }
    });

    test("each subgraph connects to its own PostgreSQL, Redis and RabbitMQ; not another's database, not the other services", () => {
      for (const from of subgraphs) {
        for (const to of all.filter((p) => p.name !== from)) {
          const expected = [`postgres-${from}`, "redis", "rabbitmq"].includes(to.name);
          expectReach(from, to, expected);
        }
      }
    });

    test("only notification reaches outside addresses: SMTP (25, 465, 587) and HTTPS (443), never a private one", () => {
      for (const from of ours) {
        for (const port of [...mailAndWebhooks, 22, 80, 2525, 8443]) {
          const expected = from.name === "notification" && mailAndWebhooks.includes(port);
          expect({ from: from.name, port, internet: connects(from, internet, port) }).toEqual({
            from: from.name,
            port,
            internet: expected,
          });
        }
        for (const address of privateAddresses) {
          for (const port of mailAndWebhooks) {
            expect({ from: from.name, to: address.ip, port, sends: sends(from, address, port) }).toEqual({
              from: from.name,
              to: address.ip,
              port,
              sends: false,
            });
          }
        }
      }
      // HTTPS over QUIC is not HTTPS over TCP.
      expect(sends(pod("notification"), internet, 443, "UDP")).toBe(false);
    });

    test("the five services may export traces to a collector in namespace monitoring (4317, 4318), nothing else", () => {
      for (const from of ours) {
        for (const port of [4317, 4318]) {
          const expected = serviceNames.includes(from.name) && from.namespace === target.namespace;
          expect({ from: from.name, port, collector: connects(from, collector, port) }).toEqual({
            from: from.name,
            port,
            collector: expected,
          });
        }
        expect({ from: from.name, prometheus: sends(from, prometheus, 9090) }).toEqual({
          from: from.name,
          prometheus: false,
        });
      }
    });

    test("the migration Jobs accept no connections", () => {
      for (const to of subgraphs.map((s) => `${s}-migrate`)) {
        expect({ to, router: connects("router", to) }).toEqual({ to, router: false });
      }
    });

    test("the migration Jobs connect to their own database only", () => {
      for (const owner of subgraphs) {
        const from = `${owner}-migrate`;
        for (const to of all.filter((p) => p.name !== from)) {
          const expected = to.name === `postgres-${owner}`;
          expectReach(from, to, expected);
        }
        expect({ from, internet: connects(from, internet, 443) }).toEqual({ from, internet: false });
      }
    });

    test("each database admits only its subgraph and that subgraph's migration Job", () => {
      for (const owner of subgraphs) {
        const to = `postgres-${owner}`;
        expect(pod(to).namespace).toBe(target.infra);
        for (const from of all.filter((p) => p.namespace === target.namespace)) {
          const expected = from.name === owner || from.name === `${owner}-migrate`;
          expect({ from: from.name, to, allowed: connects(from, to) }).toEqual({
            from: from.name,
            to,
            allowed: expected,
          });
        }
        // The same labels from another namespace do not count.
        const impostor = { ...pod(owner), namespace: "default" };
        expect({ to, impostor: connects(impostor, to) }).toEqual({ to, impostor: false });
      }
    });

    test("Redis admits the router and the subgraphs; RabbitMQ the subgraphs", () => {
      for (const from of ["router", ...subgraphs]) {
        expect({ from, redis: connects(from, "redis") }).toEqual({ from, redis: true });
        const rabbit = from !== "router";
        expect({ from, rabbitmq: connects(from, "rabbitmq") }).toEqual({ from, rabbitmq: rabbit });
      }
      expect(allowed(nginx, "redis")).toBe(false);
      expect(allowed(prometheus, "rabbitmq")).toBe(false);
    });

    test("the infrastructure opens no connection (but DNS)", () => {
      for (const from of infra) {
        for (const to of all.filter((p) => p !== from)) {
          expect({ from: from.name, to: to.name, sends: sends(from, to, portOf(to)) }).toEqual({
            from: from.name,
            to: to.name,
            sends: false,
          });
        }
        expect({ from: from.name, internet: sends(from, internet, 443) }).toEqual({
          from: from.name,
          internet: false,
        });
      }
    });

    test(`the policies of ${target.namespace} name ${target.infra} and those of ${target.infra} name ${target.namespace} (the overlays replace the names)`, () => {
      const other = { [target.namespace]: target.infra, [target.infra]: target.namespace };
      for (const policy of policies) {
        const peers = [
          ...(policy.spec?.ingress ?? []).flatMap((rule) => rule.from ?? []),
          ...(policy.spec?.egress ?? []).flatMap((rule) => rule.to ?? []),
        ];
        const named = peers
          .map((peer) => peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"])
          .filter((name): name is string => name?.startsWith("orion") ?? false);
        for (const name of named) {
          expect({ policy: id(policy), in: policy.metadata.namespace, names: name }).toEqual({
            policy: id(policy),
            in: policy.metadata.namespace,
            names: other[policy.metadata.namespace!],
          });
        }
      }
    });
  });
});

describe("kubernetes/components/managed-services (managed PostgreSQL, Redis and RabbitMQ instead of kubernetes/infra)", () => {
  // The overlay docs/deploy.md describes: the base without ../../infra, plus the component. kustomize
  // takes relative paths only, so the temporary overlay points back into the repository.
  const dir = mkdtempSync(join(tmpdir(), "orion-managed-"));
  const from = (path: string) => relative(dir, join(ROOT, path));
  writeFileSync(
    join(dir, "kustomization.yaml"),
    [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      `resources: [${from("kubernetes/base")}]`,
      `components: [${from("kubernetes/components/managed-services")}]`,
    ].join("\n"),
  );
  const objects = render(dir);
  rmSync(dir, { recursive: true, force: true });
  const policies = objects.filter(NetworkPolicy.is) as Array<NetworkPolicy & KubeObject>;
  const pods = networkPods(objects);
  const pod = (name: string) => pods.find((p) => p.name === name)!;
  const namespaceLabels = (namespace: string) => ({ "kubernetes.io/metadata.name": namespace });
  /** An endpoint of a managed service, in the component's range, and one outside it. */
  const managed = { ip: "10.20.0.5" };
  const elsewhere = { ip: "172.16.0.5" };
  const sends = (name: string, to: { ip: string }, port: number) =>
    egressAllowed(policies, namespaceLabels, pod(name), to, port);

  testValidObjects(objects);

  test("no policy names the orion-infra namespace any more", () => {
    expect(JSON.stringify(policies)).not.toContain("orion-infra");
  });

  test("each subgraph reaches the managed PostgreSQL, Redis and RabbitMQ ports in the range, nothing else", () => {
    for (const subgraph of SUBGRAPH_NAMES) {
      expect({
        subgraph,
        postgres: sends(subgraph, managed, 5432),
        redis: sends(subgraph, managed, 6379),
        rabbitmq: sends(subgraph, managed, 5672),
        otherPort: sends(subgraph, managed, 22),
        otherRange: sends(subgraph, elsewhere, 5432),
      }).toEqual({
        subgraph,
        postgres: true,
        redis: true,
        rabbitmq: true,
        otherPort: false,
        otherRange: false,
      });
    }
  });

  test("the router reaches only Redis there; the migration Jobs only PostgreSQL", () => {
    expect([5432, 6379, 5672].map((port) => sends("router", managed, port))).toEqual([false, true, false]);
    for (const subgraph of SUBGRAPH_NAMES)
      expect([5432, 6379, 5672].map((port) => sends(`${subgraph}-migrate`, managed, port))).toEqual([
        true,
        false,
        false,
      ]);
  });
});

test("kubernetes/base/supergraph.graphql is schema/supergraph.graphql (npm run schema:compose writes both)", () => {
  const read = (...path: string[]) => readFileSync(join(ROOT, ...path), "utf8");
  expect(read("kubernetes", "base", "supergraph.graphql")).toBe(read("schema", "supergraph.graphql"));
});

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

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import { Namespace } from "kubernetes-models/v1/Namespace";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import { Service } from "kubernetes-models/v1/Service";
import { parseAllDocuments } from "yaml";
import { SERVICE_NAMES, SUBGRAPH_NAMES } from "../../platform/config";
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
const TARGETS = [
  {
    dir: "kubernetes/base",
    namespace: "orion-prod",
    replicas: { min: 3, max: 3 },
    hpa: { min: 3, max: 10 },
    pinned: false,
  },
  {
    dir: "kubernetes/overlays/staging",
    namespace: "orion-staging",
    replicas: { min: 2, max: 2 },
    hpa: { min: 2, max: 10 },
    pinned: true,
  },
  {
    dir: "kubernetes/overlays/production",
    namespace: "orion-prod",
    replicas: { min: 5, max: 10 },
    hpa: { min: 5, max: 10 },
    pinned: true,
  },
];

/** The kinds ORION renders; anything else fails until its model is added here. */
const MODELS = [Namespace, ConfigMap, Service, Deployment, Job, HorizontalPodAutoscaler, PodDisruptionBudget];
const CLUSTER_SCOPED = new Set(["Namespace"]);

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

const KUBECTL = process.env.KUBECTL ?? "kubectl";

function render(dir: string): KubeObject[] {
  let output: string;
  try {
    output = execFileSync(KUBECTL, ["kustomize", join(ROOT, dir)], { encoding: "utf8", stdio: "pipe" });
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

describe.each(TARGETS)("$dir", (target) => {
  const objects = render(target.dir);
  const pods = podsOf(objects);
  const servers = pods.filter((pod) => pod.workload?.verb === "serve");
  const deployments = objects.filter(Deployment.is) as Array<Deployment & KubeObject>;
  const services = objects.filter(Service.is) as Array<Service & KubeObject>;
  const hpas = objects.filter(HorizontalPodAutoscaler.is) as Array<HorizontalPodAutoscaler & KubeObject>;
  const byId = <T extends KubeObject>(list: T[]) => list.map((object) => [id(object), object] as const);

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

  test(`puts every object in namespace ${target.namespace}, which it creates`, () => {
    expect(objects.filter(Namespace.is).map((n) => n.metadata?.name)).toEqual([target.namespace]);
    for (const object of objects.filter((o) => !CLUSTER_SCOPED.has(o.kind))) {
      expect({ object: id(object), namespace: object.metadata.namespace }).toEqual({
        object: id(object),
        namespace: target.namespace,
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
});

import { execFileSync } from "node:child_process";
import { isAbsolute, join } from "node:path";

import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";
import { parseAllDocuments } from "yaml";

import { ROOT } from "./support";

// Each kustomization rendered by `kubectl kustomize` (as `kubectl apply -k` would), every object validated
// against the Kubernetes API schema by kubernetes-models; the kubernetes-*.test.ts files then check the
// rules ORION's deployments must keep.

// Expected scale per kustomization: staging exactly 2, production at least 5 (up to the HPA's maximum).
// `infra` is the namespace of the PostgreSQL/Redis/RabbitMQ that ORION's pods use, rendered by `infraDir`
// (production includes kubernetes/infra itself; the others are applied on their own).
export const TARGETS = [
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
export type KubernetesTarget = (typeof TARGETS)[number];

/** The infrastructure kustomizations, and the ORION namespace each one admits. */
export const INFRA_TARGETS = [
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
export const CLUSTER_SCOPED = new Set(["Namespace"]);

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

const KUBECTL = process.env.KUBECTL ?? "kubectl";

const rendered = new Map<string, KubeObject[]>();
/** `render`, once per kustomization and test file. */
export function renderOnce(dir: string): KubeObject[] {
  if (!rendered.has(dir)) rendered.set(dir, render(dir));
  return rendered.get(dir)!;
}

/** The objects `kubectl kustomize` renders from `dir` (relative to the repository, or absolute). */
export function render(dir: string): KubeObject[] {
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

export const id = (object: KubeObject) => `${object.kind}/${object.metadata.name}`;

/** One test per object: kubernetes-models validates it against the Kubernetes API schema. */
export function testValidObjects(objects: KubeObject[]): void {
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

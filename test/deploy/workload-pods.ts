import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Job } from "kubernetes-models/batch/v1/Job";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";

import { id, type KubeObject } from "./kustomize";
import { type Env, KEY_FILES, parseWorkload, type Workload } from "./support";

/** A pod an ORION workload (Deployment or Job) runs, with the container's environment resolved. */
export interface Pod {
  id: string;
  owner: KubeObject;
  template: IPodTemplateSpec;
  container: IContainer;
  workload: Workload | undefined;
  env: Env;
  problems: string[];
}

/** The pods of a render's Deployments and Jobs, one per workload. */
export function podsOf(objects: KubeObject[]): Pod[] {
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
export function keyFileProblems(pod: Pod): string[] {
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

/** Whether a plain selector (a Service's) picks pods with `labels`: every pair must match, and an empty one picks none. */
export const selects = (
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

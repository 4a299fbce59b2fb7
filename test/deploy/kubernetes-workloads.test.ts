import { readFileSync } from "node:fs";
import { join } from "node:path";

import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";

import { SERVICE_NAMES, SUBGRAPH_NAMES } from "../../platform/config";
import { VARIABLES } from "../../subgraphs";
import { CLUSTER_SCOPED, id, type KubeObject, renderOnce, TARGETS, testValidObjects } from "./kustomize";
import { envProblems, ROOT, servicePort, urlsIn } from "./support";
import { keyFileProblems, podsOf, selects } from "./workload-pods";

// ORION's workloads in each kustomization: the objects are valid, every service runs from one Deployment
// behind its Service with a valid environment, securely, scaled and scraped, behind one Ingress.

/** A size as Express (`100kb`) or nginx (`100k`, `1m`) writes it, in bytes (both count 1k as 1024). */
function bytes(size: string): number {
  const match = /^(\d+)\s*([kmg]?)b?$/i.exec(size.trim());
  if (!match) throw new Error(`not a size: ${size}`);
  return Number(match[1]) * 1024 ** " kmg".indexOf(match[2]!.toLowerCase() || " ");
}

describe.each(TARGETS)("$dir", (target) => {
  const rendered = renderOnce(target.dir);
  // ORION's own objects; the production overlay also renders the infrastructure (kubernetes-infra.test.ts).
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
});

test("kubernetes/base/supergraph.graphql is schema/supergraph.graphql (npm run schema:compose writes both)", () => {
  const read = (...path: string[]) => readFileSync(join(ROOT, ...path), "utf8");
  expect(read("kubernetes", "base", "supergraph.graphql")).toBe(read("schema", "supergraph.graphql"));
});

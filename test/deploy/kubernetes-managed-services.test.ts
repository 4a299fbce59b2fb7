import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";

import { SUBGRAPH_NAMES } from "../../platform/config";
import { type KubeObject, render, testValidObjects } from "./kustomize";
import { egressAllowed, networkPods } from "./network-policies";
import { ROOT } from "./support";

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

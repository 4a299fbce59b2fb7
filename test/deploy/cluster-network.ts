import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Namespace } from "kubernetes-models/v1/Namespace";

import { type KubeObject, type KubernetesTarget, renderOnce } from "./kustomize";
import {
  egressAllowed,
  type Endpoint,
  ingressAllowed,
  isAddress,
  type NetworkPod,
  networkPods,
  type OutsideAddress,
  type Protocol,
} from "./network-policies";

/**
 * The network a kustomization sets up: its pods and those of its infrastructure, the NetworkPolicies of
 * both, and pods and addresses outside them (an ingress controller, Prometheus, DNS, the internet), with
 * the questions the tests ask of it: may this one send to that one, and does that one accept?
 */
export function clusterNetwork(target: KubernetesTarget) {
  const rendered = renderOnce(target.dir);
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

  const ours = all.filter((p) => [target.namespace, target.infra].includes(p.namespace));
  const infra = all.filter((p) => p.namespace === target.infra);
  return {
    policies,
    all,
    ours,
    infra,
    pod,
    outside,
    nginx,
    prometheus,
    stranger,
    collector,
    kubeDns,
    internet,
    privateAddresses,
    portOf,
    allowed,
    sends,
    connects,
    expectReach,
  };
}

import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { Job } from "kubernetes-models/batch/v1/Job";
import type { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import type { INetworkPolicyPort } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort";

import type { KubeObject } from "./kustomize";

// NetworkPolicy semantics as the API server and a conforming network plugin apply them, so the tests can
// ask whether one pod may connect to another (or to an outside address) without a cluster.

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
export interface NetworkPod {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ports: Record<string, number>;
}

/** The pods each Deployment, StatefulSet and Job of a render runs (one stands for all its replicas). */
export function networkPods(objects: KubeObject[]): NetworkPod[] {
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
export interface OutsideAddress {
  ip: string;
}

/** One end of a connection: a pod (ports: its named container ports, for `port: http`) or an outside address. */
export type Endpoint = (Omit<NetworkPod, "ports"> & { ports?: Record<string, number> }) | OutsideAddress;

export type Protocol = "TCP" | "UDP" | "SCTP";

export const isAddress = (endpoint: Endpoint): endpoint is OutsideAddress => "ip" in endpoint;

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
export function ingressAllowed(
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
export function egressAllowed(
  policies: NetworkPolicy[],
  namespaceLabels: (namespace: string) => Record<string, string>,
  from: Omit<NetworkPod, "ports">,
  to: Endpoint,
  port: number,
  protocol: Protocol = "TCP",
): boolean {
  return policiesAllow("Egress", policies, namespaceLabels, from, to, port, protocol);
}

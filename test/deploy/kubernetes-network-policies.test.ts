import { SERVICE_NAMES, SUBGRAPH_NAMES } from "../../platform/config";
import { clusterNetwork } from "./cluster-network";
import { id, TARGETS } from "./kustomize";

// Who may connect to whom under each kustomization's NetworkPolicies (with its infrastructure's), checked
// from both ends: the sender's egress and the receiver's ingress.

describe.each(TARGETS)("$dir", (target) => {
  describe("NetworkPolicies", () => {
    const {
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
    } = clusterNetwork(target);
    const subgraphs = [...SUBGRAPH_NAMES];
    const serviceNames: readonly string[] = SERVICE_NAMES;
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

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { parse } from "yaml";

import { MeDocument, TrackEventDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { register, uniqueEmail } from "../support/identity";
import { type Sample, scrape } from "../support/prometheus";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, type TestSupergraph } from "../support/supergraph-fixture";
import { ROOT, servicePort } from "./support";

// The Prometheus scrape config, alert rules and Grafana dashboard of docker/ are code: every query
// must read metrics (and labels) that a running supergraph really exposes on /metrics.

const DOCKER = join(ROOT, "docker");
const read = (path: string) => readFileSync(join(DOCKER, path), "utf8");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const prometheus = parse(read("prometheus/prometheus.yml")) as {
  rule_files: string[];
  scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
};
const rules = (parse(read("prometheus/alerts.yml")) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (group) => group.rules,
);
const dashboard = JSON.parse(read("grafana/dashboards/orion.json")) as {
  uid: string;
  panels: { id: number; title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
};
const datasources = (
  parse(read("grafana/provisioning/datasources/prometheus.yml")) as { datasources: { uid: string }[] }
).datasources;
const compose = parse(read("compose.yaml"), { merge: true }) as {
  services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
};

const PROMQL_WORDS = new Set(
  "by without on ignoring group_left group_right and or unless bool offset le inf nan".split(" "),
);
// Series Prometheus itself adds to every scrape.
const SCRAPE_SERIES: Record<string, string[]> = { up: ["job", "instance"] };

/** The metric selectors of a PromQL expression: each metric name with the label names it matches on. */
export function selectorsIn(expr: string): { metric: string; labels: string[] }[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals
    .replace(/\[[^\]]*\]/g, "") // range selectors
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, "") // numbers, 1e9 included
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ""); // grouping clauses
  const selectors: { metric: string; labels: string[] }[] = [];
  for (const match of text.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g)) {
    const [, name, matchers, call] = match;
    if (call || PROMQL_WORDS.has(name!) || /^\$/.test(name!)) continue;
    const before = text[match.index! - 1];
    if (before === "$") continue; // Grafana variables such as $__rate_interval
    selectors.push({
      metric: name!,
      labels: [...(matchers ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1]!),
    });
  }
  return selectors;
}

/** Metric families and their label names, as exposed (histograms as their _bucket/_sum/_count series). */
function exposedSeries(samples: Sample[]): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const sample of samples) {
    const labels = series.get(sample.name) ?? new Set<string>();
    for (const label of Object.keys(sample.labels)) labels.add(label);
    // Prometheus adds these to every scraped series.
    labels.add("job").add("instance");
    series.set(sample.name, labels);
  }
  for (const [name, labels] of Object.entries(SCRAPE_SERIES)) series.set(name, new Set(labels));
  return series;
}

describe("docker/prometheus and docker/grafana", () => {
  test("Prometheus scrapes /metrics of the five services at the ports compose gives them", () => {
    const [job] = prometheus.scrape_configs;
    expect(job).toMatchObject({ job_name: "orion", metrics_path: "/metrics" });
    const targets = job!.static_configs.flatMap((config) => config.targets).sort();
    const expected = (["router", "auth", "user", "notification", "analytics"] as const)
      .map((service) => {
        const env = new Map(
          Object.entries(compose.services[service]?.environment ?? {}).map(([k, v]) => [k, String(v)]),
        );
        return `${service}:${servicePort(service, env)}`;
      })
      .sort();
    expect(targets).toEqual(expected);
  });

  test("compose mounts the rule file where prometheus.yml reads it, and the dashboards where Grafana looks", () => {
    const mounts = (service: string) =>
      (compose.services[service]?.volumes ?? []).map((volume) => volume.split(":").slice(0, 2));
    for (const file of prometheus.rule_files)
      expect(mounts("prometheus")).toContainEqual(["./prometheus/alerts.yml", file]);
    expect(mounts("grafana")).toContainEqual(["./grafana/dashboards", "/var/lib/grafana/dashboards"]);
    expect(mounts("grafana")).toContainEqual(["./grafana/provisioning", "/etc/grafana/provisioning"]);
  });

  test("every alert has an expression, a severity and a summary; the set covers what operators need", () => {
    for (const rule of rules) {
      expect([rule.alert, rule.expr.trim().length > 0]).toEqual([rule.alert, true]);
      expect([rule.alert, rule.labels?.severity]).toEqual([
        rule.alert,
        expect.stringMatching(/^(warning|critical)$/),
      ]);
      expect([rule.alert, typeof rule.annotations?.summary]).toEqual([rule.alert, "string"]);
    }
    const reads = (metric: string) => rules.some((rule) => rule.expr.includes(metric));
    expect({
      errors: reads('outcome="error"'),
      p99: rules.some((rule) => rule.expr.includes("histogram_quantile(0.99")),
      deadLetters: reads('outcome="dead_lettered"'),
      outbox: reads("orion_outbox_backlog"),
    }).toEqual({ errors: true, p99: true, deadLetters: true, outbox: true });
  });

  test("every dashboard panel queries the provisioned Prometheus", () => {
    const uids = datasources.map((source) => source.uid);
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect([panel.title, uids]).toEqual([panel.title, expect.arrayContaining([panel.datasource.uid])]);
      expect([panel.title, panel.targets.length > 0]).toEqual([panel.title, true]);
    }
  });

  test("reads PromQL selectors the way Prometheus does", () => {
    expect(
      selectorsIn(
        'sum by (le, queue) (rate(orion_event_consumer_lag_seconds_bucket{queue!="x", service=~"a|b"}[5m])) > 1 and up == 0',
      ),
    ).toEqual([
      { metric: "orion_event_consumer_lag_seconds_bucket", labels: ["queue", "service"] },
      { metric: "up", labels: [] },
    ]);
    expect(selectorsIn("rate(x_total[$__rate_interval]) * 1e9")).toEqual([{ metric: "x_total", labels: [] }]);
  });
});

describeWithServices(
  ["postgres", "redis", "rabbitmq"],
  "the dashboards and alerts against real /metrics",
  () => {
    let env: TestSupergraph;
    let exposed: Map<string, Set<string>>;

    beforeAll(async () => {
      env = await startTestSupergraph("services");
      const user = await register(env, uniqueEmail("dashboard"));
      await env.request(MeDocument, {}, { token: user.token });
      await env.request(TrackEventDocument, { input: { name: "page.viewed" } }, { token: user.token });
      await env.request(MeDocument, {}, { token: "not-a-token" });
      const urls = [env.supergraph.router, ...Object.values(env.supergraph.subgraphs)].map(
        (service) => `http://127.0.0.1:${service.port}`,
      );
      // Events flow after the commit: wait until a consumer has measured its lag.
      exposed = await eventually(async () => {
        const samples = (await Promise.all(urls.map(scrape))).flat();
        if (!samples.some((s) => s.name === "orion_event_consumer_lag_seconds_bucket"))
          throw new Error("no lag yet");
        return exposedSeries(samples);
      });
    }, 60_000);

    afterAll(async () => {
      await env?.stop();
    });

    const queries = [
      ...rules.map((rule) => [`alert ${rule.alert}`, rule.expr] as const),
      ...dashboard.panels.flatMap((panel) =>
        panel.targets.map((target) => [`panel "${panel.title}"`, target.expr] as const),
      ),
    ];

    test.each(queries)("%s reads only metrics and labels the services expose", (_where, expr) => {
      const selectors = selectorsIn(expr);
      expect(selectors.length).toBeGreaterThan(0);
      for (const { metric, labels } of selectors) {
        // Failure-only series (dead letters, rate limiting) have no sample until something fails:
        // their family must still be declared, which the catalogue below checks.
        const known = exposed.get(metric) ?? DECLARED_WITHOUT_SAMPLES.get(metric);
        expect({ metric, exposed: known !== undefined }).toEqual({ metric, exposed: true });
        for (const label of labels)
          expect({ metric, label, known: known!.has(label) }).toEqual({ metric, label, known: true });
      }
    });

    test("the series that appear only on failures are declared by the services", async () => {
      const text = await (
        await fetch(`http://127.0.0.1:${env.supergraph.subgraphs.analytics.port}/metrics`)
      ).text();
      const routerText = await (await fetch(`http://127.0.0.1:${env.supergraph.router.port}/metrics`)).text();
      for (const [metric] of DECLARED_WITHOUT_SAMPLES) {
        const family = metric.replace(/_(bucket|sum|count)$/, "");
        expect({ metric, declared: `${text}\n${routerText}`.includes(`# TYPE ${family} `) }).toEqual({
          metric,
          declared: true,
        });
      }
    });
  },
);

/** Counters that stay without samples until their first failure, with the labels they take. */
const DECLARED_WITHOUT_SAMPLES = new Map<string, Set<string>>([
  ["orion_events_failed_total", new Set(["service", "queue", "type", "outcome", "job", "instance"])],
  ["orion_rate_limit_rejections_total", new Set(["service", "caller", "job", "instance"])],
]);

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BLUEPRINTS } from "../../infra/blueprints";
import { mermaidDiagram } from "../../tools/plan/mermaid";
import { overlayOverrides, type HostReport, type PlanResult } from "../../tools/plan/plan";
import { nodesWithin, parseFlowchart, reachableFrom, type Flowchart } from "../support/mermaid-flowchart";
import { planOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";

/**
 * `npm run plan -- --mermaid` read back with Mermaid's own parser: the graph
 * a reader sees must be the system the plan describes, for every blueprint on
 * both stacks and every GALION phase.
 */

const galionPhase = (n: number) => planOf("prod", { overrides: overlayOverrides(join(PROJECT_DIR, "examples", "galion", `phase-${n}.yaml`)) });

const PLANS: [string, () => Promise<PlanResult>][] = [
  ...Object.keys(BLUEPRINTS).flatMap((blueprint) =>
    ["prod", "preprod"].map((stack): [string, () => Promise<PlanResult>] => [
      `${blueprint} on ${stack}`,
      () => planOf(stack, { overrides: [`infra:blueprint=${blueprint}`] }),
    ]),
  ),
  ...[1, 2, 3, 4, 5].map((n): [string, () => Promise<PlanResult>] => [`GALION phase ${n}`, () => galionPhase(n)]),
];

const charts = new WeakMap<PlanResult, Promise<Flowchart>>();

/** The plan's diagram as Mermaid parses it, once per plan. */
function chartOf(plan: PlanResult): Promise<Flowchart> {
  if (!charts.has(plan)) charts.set(plan, parseFlowchart(mermaidDiagram(plan)));
  return charts.get(plan)!;
}

describe.each(PLANS)("the diagram of %s", (_name, planned) => {
  it("parses with Mermaid's flowchart parser", async () => {
    await expect(chartOf(await planned())).resolves.toBeDefined();
  });

  it("reaches every route, server and load balancer from the Internet, through Cloudflare and the balancer when there are", async () => {
    const plan = await planned();
    expectReachable(plan, await chartOf(plan));
  });

  it("draws a box per server with its type and cost, its services grouped by network, and every link between them", async () => {
    const plan = await planned();
    const chart = await chartOf(plan);
    expectServers(plan, chart);
    expectLinks(plan, chart);
  });
});

describe("the diagram of GALION phase 5", () => {
  it("links the app servers to PgBouncer and Redis on main and to the replica, and the primary to the replica", async () => {
    const plan = await galionPhase(5);
    const chart = await chartOf(plan);
    const host = (name: string) => plan.hosts.find((candidate) => candidate.server === name)!;
    for (const app of ["app-1", "app-2"]) {
      expect(edge(chart, serviceNode(chart, host(app), "pgbouncer"), serviceNode(chart, host("main"), "pgbouncer"))?.stroke).toBe("dotted");
      expect(edge(chart, serviceNode(chart, host(app), "redis"), serviceNode(chart, host("main"), "redis"))?.stroke).toBe("dotted");
      expect(edge(chart, serviceNode(chart, host(app), "postgres-replica"), serviceNode(chart, host("replica"), "postgres-replica"))?.stroke).toBe("dotted");
    }
    const replication = edge(chart, serviceNode(chart, host("main"), "postgres"), serviceNode(chart, host("replica"), "postgres-replica"));
    expect(replication).toMatchObject({ text: "streaming replication", stroke: "thick" });
  });
});

/**
 * Names that are Mermaid syntax: quotes, brackets, `end` and other keywords,
 * an arrow, a comment and a directive, a pipe, HTML, Markdown's backtick, an
 * entity code, a newline, the line Mermaid rewrites (`style`, a colon, `#..;`),
 * and two names that clean up to the same id.
 */
describe("names that are Mermaid syntax", () => {
  const HOSTILE_VPAI: Record<string, string> = {
    main: "end",
    caddy: 'style:a#b;"c"',
    n8n: 'n8n"] --> x[ end',
    postgres: '%%{init: {"theme": "dark"}}%%',
    redis: "redis\nflowchart TB",
    litellm: "style",
    qdrant: "click",
    egress: "e:g#ress",
    backend: "back|end #quot; `x`",
    "grafana.vpai.example.com": 'grafana" | end --> <b>x</b> %% y',
    "n8n.vpai.example.com": "`**n8n**`.vpai.example.com",
    "llm.vpai.example.com": "llm #35; (a) {b} [c] ; subgraph",
  };
  const HOSTILE_GALION: Record<string, string> = {
    "app-2": "app_1",
    replica: "class",
    pgbouncer: "subgraph",
    "postgres-replica": "default",
    nginx: "<script>alert(1)</script>",
    "api.galion.example.com": "api.galion.example.com -.-> end",
    data: "classDef data fill:#f00;",
  };

  it.each([
    ["VPAI prod", () => planOf("prod"), HOSTILE_VPAI],
    ["GALION phase 5", () => galionPhase(5), HOSTILE_GALION],
  ] as const)("%s still parses, reads its names back unchanged, and shows the same system", async (_name, planned, names) => {
    const plan = renamed(await planned(), names);
    const chart = await parseFlowchart(mermaidDiagram(plan));
    expectReachable(plan, chart);
    expectServers(plan, chart);
    expectLinks(plan, chart);
  });
});

/** The plan with every name in `names` replaced, wherever it is a value (not a role). */
function renamed(plan: PlanResult, names: Readonly<Record<string, string>>): PlanResult {
  return JSON.parse(JSON.stringify(plan), (key, value: unknown) =>
    key !== "role" && typeof value === "string" && Object.hasOwn(names, value) ? names[value] : value,
  ) as PlanResult;
}

function expectReachable(plan: PlanResult, chart: Flowchart): void {
  const internet = theNode(chart, ["Internet"]);
  const reached = reachableFrom(chart, internet);
  const ingress = plan.hosts.filter((host) => host.ingress !== undefined).map((host) => serviceNode(chart, host, host.ingress!));
  if (plan.routes.length > 0) expect(ingress.length, "a server runs the ingress").toBeGreaterThan(0);

  for (const host of plan.hosts) {
    expect(
      nodesWithin(chart, serverBox(chart, host)).some((node) => reached.has(node)),
      `server ${host.server} is reached from the Internet`,
    ).toBe(true);
  }
  for (const host of plan.hosts.filter((candidate) => candidate.ingress !== undefined)) {
    for (const route of plan.routes) {
      const proxy = serviceNode(chart, host, host.ingress!);
      const arrow = edge(chart, proxy, serviceNode(chart, host, route.service), route.hostname);
      expect(arrow, `${route.hostname} on ${host.server}`).toBeDefined();
      expect(reached.has(proxy), `the ingress of ${host.server} is reached`).toBe(true);
    }
  }
  const proxied = plan.dns.some((record) => record.proxied);
  const cloudflare = [...chart.nodes].filter(([, node]) => node.lines[0] === "Cloudflare").map(([id]) => id);
  expect(cloudflare, "a Cloudflare node exactly when the DNS is proxied").toHaveLength(proxied ? 1 : 0);
  if (cloudflare.length > 0) {
    expect(reached.has(cloudflare[0]!)).toBe(true);
    expect(
      ingress.filter((node) => reachableFrom(chart, internet, cloudflare).has(node)),
      "the ingress is reached only through Cloudflare",
    ).toEqual([]);
  }
  const balancer = plan.loadBalancer;
  if (balancer) {
    const node = theNode(chart, [
      `load balancer ${balancer.type} in ${balancer.location}`,
      `private ${balancer.privateIp}`,
      `health check ${balancer.healthCheck}`,
    ]);
    expect(reached.has(node), "the load balancer is reached").toBe(true);
    expect(
      ingress.filter((proxy) => reachableFrom(chart, internet, [node]).has(proxy)),
      "the ingress is reached only through the balancer",
    ).toEqual([]);
    for (const target of balancer.targets) {
      const host = plan.hosts.find((candidate) => candidate.server === target)!;
      expect(edge(chart, node, serviceNode(chart, host, host.ingress!)), `the balancer forwards to ${target}`).toBeDefined();
    }
  } else {
    expect([...chart.nodes.values()].filter((node) => node.lines[0]!.startsWith("load balancer"))).toEqual([]);
  }
}

/**
 * One box per server titled with its name, type and monthly cost; each
 * service once, in the box of its first network; a store (what the backup
 * takes, a replica) a cylinder, a forwarder dashed.
 */
function expectServers(plan: PlanResult, chart: Flowchart): void {
  for (const host of plan.hosts) {
    const box = serverBox(chart, host);
    expect(nodesWithin(chart, box)).toHaveLength(host.services.length);
    for (const service of host.services) {
      const node = serviceNode(chart, host, service.name);
      const forwarder = host.links.some((link) => link.service === service.name);
      expect(chart.nodes.get(node)!.classes.includes("forwarder"), `${service.name} on ${host.server} is dashed as a forwarder`).toBe(forwarder);
      if (!forwarder)
        expect(chart.nodes.get(node)!.shape === "cylinder", `${service.name} on ${host.server} is a cylinder`).toBe(
          service.release === "stateful" || service.role === "replica",
        );
      const [home, ...others] = service.networks;
      if (others.length > 0) expect(chart.nodes.get(node)!.lines, service.name).toContain(`also on ${others.join(", ")}`);
      const parent = [...chart.subgraphs].find(([, subgraph]) => subgraph.members.includes(node))!;
      if (home === undefined) {
        expect(parent[0], `${service.name} sits in the server's box`).toBe(box);
        continue;
      }
      const network = host.networks.find((candidate) => candidate.key === home)!;
      expect(parent[1].lines, `${service.name} sits in network ${home}`).toEqual([
        `${home} network (${network.subnet}${network.internal ? ", internal" : ""})`,
      ]);
      expect(chart.subgraphs.get(box)!.members, `network ${home} is inside ${host.server}`).toContain(parent[0]);
    }
  }
}

/** Every dependency an arrow; every forwarder a dotted arrow to its service on the other server; a replica a thick arrow from its primary. */
function expectLinks(plan: PlanResult, chart: Flowchart): void {
  for (const host of plan.hosts) {
    for (const service of host.services) {
      const node = serviceNode(chart, host, service.name);
      for (const dependency of service.dependsOn) {
        if (service.role !== "replica") {
          expect(edge(chart, node, serviceNode(chart, host, dependency)), `${service.name} -> ${dependency} on ${host.server}`).toBeDefined();
          continue;
        }
        const primary = plan.hosts.find((candidate) => candidate.server === (host.links.find((link) => link.service === dependency)?.server ?? host.server))!;
        expect(edge(chart, serviceNode(chart, primary, dependency), node)?.stroke, `replication ${dependency} on ${primary.server} -> ${service.name}`).toBe(
          "thick",
        );
      }
    }
    for (const link of host.links) {
      const target = plan.hosts.find((candidate) => candidate.server === link.server)!;
      expect(
        edge(chart, serviceNode(chart, host, link.service), serviceNode(chart, target, link.service))?.stroke,
        `${link.service} on ${host.server} -> ${link.server}`,
      ).toBe("dotted");
    }
  }
}

function theNode(chart: Flowchart, lines: readonly string[]): string {
  const found = [...chart.nodes].filter(([, node]) => JSON.stringify(node.lines) === JSON.stringify(lines));
  expect(
    found.map(([id]) => id),
    `one node reading ${JSON.stringify(lines)}`,
  ).toHaveLength(1);
  return found[0]![0];
}

function serverBox(chart: Flowchart, host: HostReport): string {
  const title = `${host.server} (${host.provider}, ${host.monthlyCostEur.toFixed(2)} EUR/month)`;
  const found = [...chart.subgraphs].filter(([, subgraph]) => subgraph.lines.length === 1 && subgraph.lines[0] === title);
  expect(
    found.map(([id]) => id),
    `one box titled ${JSON.stringify(title)}`,
  ).toHaveLength(1);
  return found[0]![0];
}

/** The node of a service on a server: the one node in the server's box whose first line is the service's name. */
function serviceNode(chart: Flowchart, host: HostReport, service: string): string {
  const found = nodesWithin(chart, serverBox(chart, host)).filter((node) => chart.nodes.get(node)?.lines[0] === service);
  expect(found, `one node for ${JSON.stringify(service)} on ${host.server}`).toHaveLength(1);
  return found[0]!;
}

function edge(chart: Flowchart, start: string, end: string, text?: string): Flowchart["edges"][number] | undefined {
  return chart.edges.find((candidate) => candidate.start === start && candidate.end === end && (text === undefined || candidate.text === text));
}

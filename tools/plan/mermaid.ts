import type { HostReport, PlanResult } from "./plan";

type Service = HostReport["services"][number];
type NodeId = (...parts: string[]) => string;

/**
 * The system as a Mermaid flowchart, read the way a request travels: the
 * Internet, Cloudflare when the DNS is proxied, the load balancer when there
 * is one, the ingress of each server, and from it each route's service,
 * labelled with its hostname. Each server is a box with its type and monthly
 * cost; inside it, services are grouped by Docker network. Arrows go from a
 * service to what it talks to; a forwarder's dotted arrow crosses to the
 * service it stands for on the other server, and a replica takes a thick
 * arrow from its primary. Everything comes from the plan; nothing is derived
 * here but the drawing.
 */
export function mermaidDiagram(plan: PlanResult): string {
  const id = nodeIds();
  const lines = [
    "flowchart LR",
    ...entryNodes(plan, id),
    ...plan.hosts.flatMap((host) => serverBox(host, id)),
    ...entryEdges(plan, id),
    ...routeEdges(plan, id),
    ...plan.hosts.flatMap((host) => dependencyEdges(host, new Set(plan.routes.map((route) => route.service)), id)),
    ...plan.hosts.flatMap((host) => forwarderEdges(host, id)),
    "  classDef forwarder stroke-dasharray: 4 3",
  ];
  return `${lines.join("\n")}\n`;
}

/** The Internet, then Cloudflare and the load balancer when the stack has them. */
function entryNodes(plan: PlanResult, id: NodeId): string[] {
  const balancer = plan.loadBalancer;
  return [
    `  ${id("internet")}((${label("Internet")}))`,
    ...(behindCloudflare(plan) ? [`  ${id("cloudflare")}([${label("Cloudflare", "proxied DNS")}])`] : []),
    ...(balancer
      ? [
          `  ${id("load balancer")}{{${label(`load balancer ${balancer.type} in ${balancer.location}`, `private ${balancer.privateIp}`, `health check ${balancer.healthCheck}`)}}}`,
        ]
      : []),
  ];
}

/**
 * A server's box, and in it a box per Docker network. A service on several
 * networks is drawn once, in the first network its blueprint lists (its own
 * tier: an app in the backend, the proxy in the frontend, as seed 002's
 * diagram places them), and its label names the others. Networks do not
 * nest, so nested boxes cannot show the overlap, and an edge per extra
 * membership is what buried the old diagram in crossing lines; who talks to
 * whom is what the arrows show. A network no service calls first is named in
 * the labels only, and a service on no network sits in the server's box.
 */
function serverBox(host: HostReport, id: NodeId): string[] {
  const home = (service: Service) => service.networks[0];
  const lines = [`  subgraph ${id("server", host.server)}[${label(`${host.server} (${host.provider}, ${host.monthlyCostEur.toFixed(2)} EUR/month)`)}]`];
  for (const network of host.networks) {
    const members = host.services.filter((service) => home(service) === network.key);
    if (members.length === 0) continue;
    lines.push(
      `    subgraph ${id("network", host.server, network.key)}[${label(`${network.key} network (${network.subnet}${network.internal ? ", internal" : ""})`)}]`,
    );
    lines.push(...members.map((service) => `      ${serviceNode(host, service, id)}`));
    lines.push("    end");
  }
  lines.push(...host.services.filter((service) => home(service) === undefined).map((service) => `    ${serviceNode(host, service, id)}`));
  lines.push("  end");
  return lines;
}

/**
 * A service: its name, what runs, its memory limit and its other networks. A
 * store is a cylinder: what the backup takes (a stateful release) and a
 * replica; a forwarder is dashed.
 */
function serviceNode(host: HostReport, service: Service, id: NodeId): string {
  const link = host.links.find((candidate) => candidate.service === service.name);
  const others = service.networks.slice(1);
  const text = label(
    service.name,
    link ? `forwarder to ${link.server}, ${service.memoryMb} MB` : `${service.image}, ${service.memoryMb} MB`,
    ...(others.length ? [`also on ${others.join(", ")}`] : []),
  );
  const node = id("service", host.server, service.name);
  if (link) return `${node}[${text}]:::forwarder`;
  return service.release === "stateful" || service.role === "replica" ? `${node}[(${text})]` : `${node}[${text}]`;
}

/**
 * Internet → Cloudflare → load balancer → ingress, each hop labelled with the
 * ports it carries; a port some other service opens to the internet is an
 * arrow of its own, straight from the Internet (Cloudflare proxies HTTP only).
 */
function entryEdges(plan: PlanResult, id: NodeId): string[] {
  const ingressHosts = plan.hosts.filter((host) => host.ingress !== undefined);
  const balancer = plan.loadBalancer;
  const ingressPorts = (host: HostReport) =>
    host.exposures.filter((exposure) => exposure.service === host.ingress).map((exposure) => `${exposure.port}/${exposure.protocol}`);
  const webPorts = balancer ? balancer.ports.map((port) => `${port}/tcp`) : [...new Set(ingressHosts.flatMap(ingressPorts))];
  const edges: string[] = [];
  let front = id("internet");
  if (behindCloudflare(plan)) {
    edges.push(`  ${front} -->|${label(webPorts.join(", "))}| ${id("cloudflare")}`);
    front = id("cloudflare");
  }
  if (balancer) {
    edges.push(`  ${front} -->|${label(webPorts.join(", "))}| ${id("load balancer")}`);
    for (const host of ingressHosts.filter((candidate) => balancer.targets.includes(candidate.server))) {
      edges.push(`  ${id("load balancer")} -->|${label(`${webPorts.join(", ")} on the private network`)}| ${id("service", host.server, host.ingress!)}`);
    }
  } else {
    for (const host of ingressHosts) edges.push(`  ${front} -->|${label(ingressPorts(host).join(", "))}| ${id("service", host.server, host.ingress!)}`);
  }
  for (const host of plan.hosts) {
    for (const exposure of host.exposures.filter((candidate) => candidate.service !== host.ingress)) {
      edges.push(`  ${id("internet")} -->|${label(`${exposure.port}/${exposure.protocol}`)}| ${id("service", host.server, exposure.service)}`);
    }
  }
  return edges;
}

/** Every route, on every server that runs the ingress: the proxy to the service there, labelled with the hostname. */
function routeEdges(plan: PlanResult, id: NodeId): string[] {
  return plan.hosts.flatMap((host) =>
    host.ingress === undefined
      ? []
      : plan.routes
          .filter((route) => host.services.some((service) => service.name === route.service))
          .map((route) => `  ${id("service", host.server, host.ingress!)} -->|${label(route.hostname)}| ${id("service", host.server, route.service)}`),
  );
}

/**
 * A service's arrow to each service it depends on, on its own server (a
 * forwarder when the other runs elsewhere). The proxy's dependency on a
 * routed service is its route already. A replica's dependency is its
 * primary, drawn the way the data flows: from the primary itself, across to
 * the replica.
 */
function dependencyEdges(host: HostReport, routed: ReadonlySet<string>, id: NodeId): string[] {
  return host.services.flatMap((service) =>
    service.dependsOn
      .filter((dependency) => !(service.name === host.ingress && routed.has(dependency)))
      .map((dependency) => {
        if (service.role !== "replica") return `  ${id("service", host.server, service.name)} --> ${id("service", host.server, dependency)}`;
        const primaryServer = host.links.find((link) => link.service === dependency)?.server ?? host.server;
        return `  ${id("service", primaryServer, dependency)} ==>|${label("streaming replication")}| ${id("service", host.server, service.name)}`;
      }),
  );
}

/** A forwarder to the service it stands for, on the other server, over the private network. */
function forwarderEdges(host: HostReport, id: NodeId): string[] {
  return host.links.map(
    (link) => `  ${id("service", host.server, link.service)} -.->|${label(`private network, ${link.address}`)}| ${id("service", link.server, link.service)}`,
  );
}

/** Cloudflare proxies the routes' names; the plan has a DNS record per route. */
function behindCloudflare(plan: PlanResult): boolean {
  return plan.dns.some((record) => record.proxied);
}

/**
 * Mermaid ids made of letters, digits and `_` after a kind (`service_`,
 * `network_`...), so no name can turn into syntax (`end`, `-->`, `o` after a
 * link), and without `style` or `classDef` (see label); two names that read
 * the same once cleaned get a numbered suffix.
 */
function nodeIds(): NodeId {
  const byKey = new Map<string, string>();
  const taken = new Set<string>();
  return (...parts) => {
    const key = JSON.stringify(parts);
    const known = byKey.get(key);
    if (known) return known;
    const base = parts
      .join("_")
      .replace(/[^A-Za-z0-9]/g, "_")
      .replace(/style/g, "Style")
      .replace(/classDef/g, "ClassDef");
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
    taken.add(id);
    byKey.set(key, id);
    return id;
  };
}

/**
 * A quoted label, one line per part. Inside quotes Mermaid reads anything but
 * a quote, a newline, `#` (its entity codes) and a leading backtick (Markdown);
 * and labels are HTML. So every character outside a plain set is written as
 * Mermaid's entity code `#<code point>;`: it renders as itself and can never
 * close the label or open a tag. Before parsing, Mermaid also rewrites a line
 * with `style` or `classDef`, a colon and an entity code (it drops the last
 * `;`), so those words lose their first letter to an entity code as well.
 */
function label(...parts: string[]): string {
  return `"${parts.map((part) => part.replace(/[^A-Za-z0-9 .,:/_+=@()-]|s(?=tyle)|c(?=lassDef)/gu, (character) => `#${character.codePointAt(0)};`)).join("<br/>")}"`;
}

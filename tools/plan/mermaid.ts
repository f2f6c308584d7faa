import type { PlanResult } from "./plan";

/** The architecture as a Mermaid flowchart: servers, networks, services and routes. */
export function mermaidDiagram(plan: PlanResult): string {
  const id = (...parts: string[]) => parts.join("_").replace(/[^A-Za-z0-9_]/g, "_");
  const lines = ["graph LR", '  internet(("Internet"))'];
  for (const host of plan.hosts) {
    lines.push(`  subgraph ${id("server", host.server)}["server ${host.server}: ${host.provider}"]`);
    const networks = [...new Set(host.services.flatMap((service) => service.networks))];
    for (const network of networks) lines.push(`    ${id(host.server, "net", network)}{{"network ${network}"}}`);
    for (const service of host.services) lines.push(`    ${id(host.server, service.name)}["${service.name}<br/>${service.image}<br/>${service.memoryMb} MB"]`);
    lines.push("  end");
    for (const service of host.services) {
      for (const network of service.networks) lines.push(`  ${id(host.server, service.name)} --- ${id(host.server, "net", network)}`);
    }
    for (const rule of host.firewall.filter((rule) => rule.port !== undefined && !rule.ssh)) {
      const exposure = host.exposed.find((text) => text.startsWith(`${rule.port}/${rule.protocol}`));
      const service = exposure?.match(/\(([^)]+)\)/)?.[1]?.split(", ")[0];
      if (service) lines.push(`  internet -->|"${rule.protocol}/${rule.port}"| ${id(host.server, service)}`);
    }
  }
  const ingress = plan.hosts.flatMap((host) => host.exposed.map((text) => ({ server: host.server, service: text.match(/\(([^)]+)\)/)?.[1] ?? "" })))[0];
  if (ingress) {
    for (const route of plan.routes) lines.push(`  ${id(ingress.server, ingress.service)} -->|"${route.hostname}"| ${id(route.server, route.service)}`);
  }
  return `${lines.join("\n")}\n`;
}

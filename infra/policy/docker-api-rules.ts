import { DOCKER_API_NETWORK_PREFIX, DOCKER_API_PROXY, dockerAPINetworkKey } from "../../components/container/docker-api-proxy-spec";
import type { HostPlan } from "../platform-model";
import type { Finding } from "./report";

/**
 * C14 on one host's plan: the socket proxy is reached only by its consumers.
 * It publishes nothing and joins only its consumers' networks; each of those
 * is internal and joined by its consumer and the proxy alone; a service that
 * declares dockerAPI has its network and the proxy beside it. Whether the
 * socket is mounted by anyone else is judged per container (bindFindings).
 */
export function dockerAPIFindings(host: HostPlan, containerResource: (service: string) => string): Finding[] {
  const findings: Finding[] = [];
  const refuse = (resource: string, message: string) => findings.push({ rule: "C14", resource, message, unwaivable: true });
  const proxy = host.services.find((service) => service.name === DOCKER_API_PROXY);
  const consumers = host.services.filter((service) => (service.dockerAPI?.length ?? 0) > 0);
  if (proxy) {
    const published = proxy.ports.filter((port) => port.publish !== undefined);
    if (published.length > 0)
      refuse(
        containerResource(proxy.name),
        `publishes ${published.map((port) => port.publish!.host).join(", ")}: only its consumers' networks may reach the socket proxy`,
      );
    for (const network of proxy.networks) {
      if (!consumers.some((consumer) => dockerAPINetworkKey(consumer.name) === network))
        refuse(containerResource(proxy.name), `joins network ${network}, which is no consumer's own: whoever else is on it reaches the Docker API`);
    }
  }
  for (const consumer of consumers) {
    const key = dockerAPINetworkKey(consumer.name);
    if (!proxy || !proxy.networks.includes(key) || !consumer.networks.includes(key))
      refuse(containerResource(consumer.name), `declares dockerAPI but does not share its network ${key} with the socket proxy on ${host.server.name}`);
  }
  for (const network of host.networks.filter((candidate) => candidate.key.startsWith(DOCKER_API_NETWORK_PREFIX))) {
    if (!network.internal) refuse(`network ${network.key}`, "is a socket proxy network with a route out; it must be internal");
    const owner = network.key.slice(DOCKER_API_NETWORK_PREFIX.length);
    for (const member of host.services.filter((service) => service.networks.includes(network.key))) {
      if (member.name !== DOCKER_API_PROXY && member.name !== owner)
        refuse(
          containerResource(member.name),
          `joins ${network.key}, the network ${owner} alone shares with the socket proxy: it would reach ${owner}'s Docker API endpoints`,
        );
    }
  }
  return findings;
}

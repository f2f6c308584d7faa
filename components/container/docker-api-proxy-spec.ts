import { dockerAPIProxyConfig, type DockerAPIConsumer } from "./docker-api-proxy-config";
import type { NetworkSpec } from "./network-spec";
import { healthcheck, service, type ImageRef, type ServiceSpec } from "./service-spec";

/**
 * The Docker socket proxy of a host (C14): the one container that mounts
 * docker.sock, and a network per consumer that only it and that consumer
 * join. A service asks for the API by declaring the read endpoints it calls
 * (`dockerAPI`); the platform model adds the proxy to every host that runs
 * such a service (withDockerAPIProxy), so a consumer finds it under the
 * same name wherever it is placed.
 */

/** The proxy's service name: its DNS alias on every consumer's network. */
export const DOCKER_API_PROXY = "docker-socket-proxy";
export const DOCKER_API_PORT = 2375;
/** Where a consumer reaches the Docker API: DIUN's endpoint, Alloy's and Promtail's host, cAdvisor's --docker. */
export const DOCKER_API_URL = `tcp://${DOCKER_API_PROXY}:${DOCKER_API_PORT}`;
/** The host's Docker socket; the proxy sees it at the same path. */
export const DOCKER_SOCKET = "/var/run/docker.sock";
/** The official image (Debian-based, with bash for the health check), with the program's own configuration. */
export const DOCKER_API_PROXY_IMAGE: ImageRef = { repository: "haproxy", tag: "3.0.5" };
/** Network keys of the consumers' networks are `docker-api-<service>`; a blueprint's own networks may not use the prefix. */
export const DOCKER_API_NETWORK_PREFIX = "docker-api-";

/**
 * Each consumer's network is one /28 of 172.31.252.0/24, in the order of the
 * consumers' names: 16 consumers a host at most, clear of the blueprints'
 * subnets (172.20-27.x) and of the loopback-publishing bridge (172.31.254.0/24).
 */
const CONSUMER_SUBNET = { prefix: "172.31.252", size: 16, count: 16 } as const;

/** The official image's haproxy group: HAProxy takes it at start, which makes it non-dumpable (DockerAPIProxyConfigInput.group). */
const PROXY_GROUP = 99;

/** Written by the container itself at start, so its root filesystem stays read-only (no upload). */
const CONFIG_PATH = "/tmp/haproxy.cfg";
const CONFIG_VARIABLE = "DOCKER_API_PROXY_CONFIG";

export function dockerAPINetworkKey(consumer: string): string {
  return `${DOCKER_API_NETWORK_PREFIX}${consumer}`;
}

/** The consumers among `services`, with the subnet of each one's network. */
export function dockerAPIConsumers(services: readonly ServiceSpec[]): DockerAPIConsumer[] {
  const consumers = services.filter((spec) => (spec.dockerAPI?.length ?? 0) > 0).sort((a, b) => a.name.localeCompare(b.name));
  if (consumers.length > CONSUMER_SUBNET.count) {
    throw new Error(
      `Docker socket proxy: ${consumers.length} consumers on one host, more than the ${CONSUMER_SUBNET.count} networks of ${CONSUMER_SUBNET.prefix}.0/24`,
    );
  }
  return consumers.map((spec, index) => ({
    name: spec.name,
    subnet: `${CONSUMER_SUBNET.prefix}.${index * CONSUMER_SUBNET.size}/28`,
    endpoints: spec.dockerAPI!,
  }));
}

export function dockerAPINetwork(consumer: DockerAPIConsumer): NetworkSpec {
  return {
    key: dockerAPINetworkKey(consumer.name),
    subnet: consumer.subnet,
    internal: true,
    purpose: `${consumer.name} and the Docker socket proxy alone: ${consumer.name}'s read endpoints of the Docker API (${consumer.endpoints.join(", ")}); no route out`,
  };
}

export function dockerAPIProxySpec(consumers: readonly DockerAPIConsumer[]): ServiceSpec {
  const config = dockerAPIProxyConfig({ consumers, listen: { port: DOCKER_API_PORT }, socket: DOCKER_SOCKET, group: PROXY_GROUP });
  return service({
    name: DOCKER_API_PROXY,
    description: `Docker socket proxy (HAProxy): each consumer's read endpoints of the Docker API, every other call refused (${consumers.map((consumer) => consumer.name).join(", ")})`,
    role: "monitoring",
    placement: "host",
    image: DOCKER_API_PROXY_IMAGE,
    networks: consumers.map((consumer) => dockerAPINetworkKey(consumer.name)),
    // Never published (C14): only its consumers' networks reach it.
    ports: [{ container: DOCKER_API_PORT }],
    env: { [CONFIG_VARIABLE]: config },
    command: ["sh", "-c", `printf '%s' "$${CONFIG_VARIABLE}" > ${CONFIG_PATH} && exec haproxy -db -f ${CONFIG_PATH}`],
    binds: [{ hostPath: DOCKER_SOCKET, target: DOCKER_SOCKET, readOnly: true }],
    // The socket is root:docker 0660, and the docker group's id differs from
    // host to host; root, the socket's owner, connects with no capability.
    // SETGID alone is added back, for HAProxy to leave root's group.
    user: "0",
    capAdd: ["SETGID"],
    readOnlyRootFilesystem: true,
    tmpfs: ["/tmp"],
    // A ping through the proxy: it listens, and the daemon answers behind it.
    healthcheck: healthcheck(
      ["CMD", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${DOCKER_API_PORT} && printf 'GET /_ping HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '`],
      10,
    ),
    // One process and one thread: some 8 MB resident with its buffers.
    memoryMb: 16,
    pidsLimit: 32,
    waivers: [
      {
        rule: "C9",
        reason:
          "it connects to the Docker socket (root:docker 0660), whose group id differs from host to host; as root, the socket's owner, it needs no capability for that",
      },
    ],
  });
}

/**
 * A host's services with the proxy added when any of them reads the Docker
 * API: each consumer joins its own network and starts after the proxy. The
 * networks are the host's to create. Without a consumer, nothing changes.
 */
export function withDockerAPIProxy(services: readonly ServiceSpec[]): { services: ServiceSpec[]; networks: NetworkSpec[] } {
  const consumers = dockerAPIConsumers(services);
  if (consumers.length === 0) return { services: [...services], networks: [] };
  const attached = services.map((spec) =>
    consumers.some((consumer) => consumer.name === spec.name)
      ? { ...spec, networks: [...spec.networks, dockerAPINetworkKey(spec.name)], dependsOn: [...spec.dependsOn, DOCKER_API_PROXY] }
      : spec,
  );
  return { services: [dockerAPIProxySpec(consumers), ...attached], networks: consumers.map(dockerAPINetwork) };
}

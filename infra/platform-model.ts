import { releasePlan, releaseUpstreams, type ReleasePlan } from "../components/container/release";
import { LOOPBACK_PUBLISHING_NETWORK, needsLoopbackPublishing } from "../components/container/network-spec";
import { declarationProblems, hostBackupJob, resticRepository, type BackupJob } from "../components/backup/job";
import { dependencyCheckProblems } from "../components/monitoring/targets";
import { sshPortOf, type ServerConfig } from "../components/compute/server-spec";
import { findServerType } from "../components/compute/server-types";
import type { NetworkSpec } from "../components/container/network-spec";
import { DOCKER_API_NETWORK_PREFIX, DOCKER_API_PROXY, withDockerAPIProxy } from "../components/container/docker-api-proxy-spec";
import { peerPort, publishAddress, secretKeysOf, type ServiceSpec } from "../components/container/service-spec";
import { isPrivateOrLoopbackAddress, isUnspecifiedAddress } from "../components/network/ip-ranges";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../components/network/cloudflare-ranges";
import type { BalancerInFront } from "../components/ingress/nginx-conf";
import type { IngressKind } from "../components/ingress/route";
import { secretFileProblems } from "../components/container/secret-files";
import { ANYWHERE, firewallRules, type Exposure, type FirewallRule, type HostFirewall, type PeerAccess } from "../components/network/firewall-rules";
import { monitoringSecrets } from "../components/monitoring/settings";
import { withAddedRuleGroups } from "../components/monitoring/generated-files";
import { linkServiceSpec } from "../components/network/private-network-link";
import { inPullMode, opsHostProblems, planOpsHost, type OpsHostInput, type OpsHostPlan } from "../components/ops-host/ops-host-spec";
import { serversTaking, type Blueprint, type BlueprintEnvironment, type HealthCheckSpec, type MemoryProfile, type PlatformSpec } from "./blueprints/blueprint";
import { ConfigError, type ConfigProblem } from "./config/errors";
import { behindCloudflare, INGRESS_DEFAULTS, type LoadBalancerConfig, type StackConfig, type StackIngress } from "./config/schema";

/** One server with what the blueprint places on it. */
export interface HostPlan {
  readonly server: ServerConfig;
  /** `<prefix>-<server>`: the name of the server's resources, and the start of every resource name on it. */
  readonly resourceName: string;
  /** The port sshd listens on (sshPortOf): what every firewall layer admits the admins to (H10). */
  readonly sshPort: number;
  readonly memoryMb: number;
  readonly services: readonly ServiceSpec[];
  readonly networks: readonly NetworkSpec[];
  readonly exposed: readonly Exposure[];
  /** Inbound rules derived from the exposures (F1-F3). */
  readonly firewall: readonly FirewallRule[];
  /** What the other servers of the private network may reach here; absent off the network. */
  readonly peerAccess?: PeerAccess;
  readonly budget: MemoryBudget;
  /** The nightly backup of what the services on it declare; absent when they hold no data. */
  readonly backup?: BackupJob;
  /** Services of other servers this one reaches over the private network. */
  readonly links: readonly HostLink[];
}

/** A remote service made reachable on this server under its own name. */
export interface HostLink {
  readonly service: string;
  readonly server: string;
  readonly address: string;
  readonly networks: readonly string[];
}

/** A Hetzner load balancer in front of the servers that run the ingress. */
export interface LoadBalancerPlan {
  readonly config: LoadBalancerConfig;
  /** Server names it forwards to, over the private network. */
  readonly targets: readonly string[];
  /** Ports forwarded as they are (TCP): TLS stays with the ingress on each target. */
  readonly ports: readonly number[];
  /** Each connection to a target starts with a PROXY header naming the client, the only way a TCP balancer can pass it on. */
  readonly proxyProtocol: boolean;
  /**
   * Who the ingress admits through the balancer, which filters nothing
   * itself: Cloudflare's ranges when DNS is proxied (F3), else everyone.
   */
  readonly admits: readonly string[];
  readonly healthCheck?: HealthCheckSpec;
}

export interface MemoryBudget {
  readonly serverMb: number;
  readonly reserveMb: number;
  readonly containersMb: number;
  /** What is left after the reserve and every container's limit; negative means over budget. */
  readonly headroomMb: number;
}

/** The platform as pure data: what the program registers and the plan reports. */
export interface PlatformModel {
  readonly config: StackConfig;
  readonly blueprint: Blueprint;
  readonly spec: PlatformSpec;
  readonly hosts: readonly HostPlan[];
  /** The reverse proxy serving the routes: the blueprint's, Caddy when it names none. */
  readonly ingress: IngressKind;
  /** The routes the ingress serves, each with its fully qualified name: the one place `<subdomain>.<domain>` is formed. */
  readonly routes: readonly ResolvedRoute[];
  /** Fully qualified names the ingress serves, in the order of `routes`. */
  readonly hostnames: readonly string[];
  readonly memoryProfile: MemoryProfile;
  readonly loadBalancer?: LoadBalancerPlan;
  /** How a change to each service reaches what it serves: zero downtime, a reload, a restart, or a stateful replacement. */
  readonly releases: readonly ReleasePlan[];
  /**
   * The Docker container name of each service: `<prefix>-<service>`, and for
   * a service released with zero downtime `<prefix>-<service>-<release id>`.
   * The one source for the program, the policy and the plan.
   */
  readonly containerNames: Readonly<Record<string, string>>;
  /** The platform's buckets: the component's name (`<prefix>-<key>`) and the bucket's (`<bucket prefix>-<key>`). */
  readonly buckets: readonly PlannedBucket[];
  /** Seed 002's ops host, when infra:opsHost is set: the VPN hub, the uptime checks and the pull of the backups. */
  readonly opsHost?: OpsHostPlan;
}

export interface PlannedBucket {
  readonly key: string;
  readonly purpose: string;
  readonly resourceName: string;
  readonly bucketName: string;
}

/** The Docker container name of a service of the model; a name the model does not hold is a program error. */
export function containerNameOf(model: Pick<PlatformModel, "containerNames">, service: string): string {
  const name = model.containerNames[service];
  if (name === undefined) throw new Error(`the platform model has no container for service ${service}`);
  return name;
}

/** The reverse proxy a blueprint's spec serves its routes with: Caddy when it names none. */
export function ingressKindOf(spec: Pick<PlatformSpec, "ingress">): IngressKind {
  return spec.ingress ?? "caddy";
}

/** A route of the platform with its hostname resolved. */
export interface ResolvedRoute {
  readonly hostname: string;
  readonly subdomain: string;
  readonly service: string;
  readonly port: number;
}

export function serverMemoryMb(server: ServerConfig): number {
  return server.provider === "existing" ? server.memoryMb : (findServerType(server.serverType)?.memoryMb ?? 0);
}

/**
 * Places each service by its role and placement, links services that landed
 * on different servers over the private network, then checks what a graph
 * cannot catch by itself: references between services, startup cycles,
 * secrets the blueprint forgot to declare, and each server's memory budget.
 * Every problem is reported at once, with its config path.
 */
export function planPlatform(config: StackConfig, blueprint: Blueprint): PlatformModel {
  const seed = placePlatform(config, blueprint, "seed");
  const seedFits = seed.hosts.every((host) => host.budget.headroomMb >= 0);
  const model = seedFits || !blueprint.compact ? seed : placePlatform(config, blueprint, "compact");
  if (model.problems.length > 0) throw new ConfigError(model.problems);
  const { problems: _problems, ...platform } = model;
  return platform;
}

function placePlatform(config: StackConfig, blueprint: Blueprint, memoryProfile: MemoryProfile): PlatformModel & { problems: ConfigProblem[] } {
  const layout = config.servers.map((server) => ({
    name: server.name,
    roles: server.roles,
    ...(privateIpOf(server) ? { privateIp: privateIpOf(server)! } : {}),
  }));
  const balancer = config.loadBalancer ? balancerInFront(config.loadBalancer, config) : undefined;
  const environment = {
    domain: config.domain,
    environment: config.environment,
    servers: layout,
    monitoring: config.monitoring,
    memoryProfile,
    ingress: config.ingress,
    ...(balancer ? { loadBalancer: balancer } : {}),
  };
  const released = releasedBuild(blueprint, environment, config.releases ?? {});
  const spec = released.spec;
  const problems: ConfigProblem[] = [
    ...released.problems,
    ...(spec.problems ?? []),
    ...stackRouteProblems(config.ingress, blueprint.build({ ...environment, ingress: INGRESS_DEFAULTS }).routes),
    ...specProblems(spec, blueprint, monitoringSecrets(config.monitoring)),
  ];

  const placement = new Map<string, ServiceSpec[]>(config.servers.map((server) => [server.name, []]));
  for (const service of spec.services) {
    const targets = serversFor(service, config.servers);
    if (targets.length === 0) problems.push({ path: "infra:servers", message: `no server takes role "${service.role}" for service ${service.name}` });
    for (const server of targets) placement.get(server.name)!.push(service);
  }

  // A dependency on another server is reached through a forwarder of the same
  // name on the dependent's server (components/network/private-network-link.ts).
  const links = new Map<string, HostLink[]>(config.servers.map((server) => [server.name, []]));
  const peerReachable = new Map<string, Set<string>>(config.servers.map((server) => [server.name, new Set()]));
  const outbound = spec.networks.find((network) => !network.internal)?.key;
  for (const server of config.servers) {
    const local = placement.get(server.name)!;
    for (const service of local) {
      for (const dependency of service.dependsOn) {
        if (local.some((candidate) => candidate.name === dependency)) continue;
        if (links.get(server.name)!.some((link) => link.service === dependency)) continue;
        const remote = config.servers.find((candidate) => placement.get(candidate.name)!.some((other) => other.name === dependency));
        if (!remote) continue;
        const remoteAddress = privateIpOf(remote);
        if (!privateIpOf(server) || !remoteAddress || !outbound) {
          problems.push({
            path: "infra:privateNetwork",
            message: `${service.name} (on ${server.name}) depends on ${dependency} (on ${remote.name}); Docker networks do not span servers, so both need an address on infra:privateNetwork${outbound ? "" : ` and blueprint ${blueprint.name} a network that is not internal`}`,
          });
          continue;
        }
        const target = placement.get(remote.name)!.find((other) => other.name === dependency)!;
        links
          .get(server.name)!
          .push({ service: dependency, server: remote.name, address: remoteAddress, networks: [...new Set([...target.networks, outbound])] });
        peerReachable.get(remote.name)!.add(dependency);
      }
    }
  }

  const behindBalancer = config.loadBalancer !== undefined;
  const placed = config.servers.map((server) => {
    const ownAddress = privateIpOf(server);
    const services = placement.get(server.name)!.map((service) => {
      let ports = service.ports;
      if (ownAddress && (service.reachableFromPeers || peerReachable.get(server.name)!.has(service.name))) {
        const onPrivate = new Set(ports.filter((port) => port.publish?.address === ownAddress).map((port) => port.container));
        const containerPorts = [...new Set(ports.map((port) => port.container))].filter((port) => !onPrivate.has(port));
        ports = [...ports, ...containerPorts.map((port) => ({ container: port, publish: { host: peerPort(service, port), address: ownAddress } }))];
      }
      // Behind the load balancer the ingress listens on the private address
      // only; the balancer reaches it there and nothing else can (seed 004, phase 4).
      if (behindBalancer && ownAddress && service.role === "ingress") {
        ports = ports.map((port) =>
          port.publish && isPublicAddress(publishAddress(port)!) ? { ...port, publish: { host: port.publish.host, address: ownAddress } } : port,
        );
      }
      return ports === service.ports ? service : { ...service, ports };
    });
    const forwarders = links.get(server.name)!.map((link) =>
      linkServiceSpec({
        dependency: placement.get(link.server)!.find((other) => other.name === link.service)!,
        server: link.server,
        address: link.address,
        networks: link.networks,
      }),
    );
    return { server, services: [...forwarders, ...services] };
  });

  const reserveMb = memoryProfile === "compact" && blueprint.compact ? blueprint.compact.systemReserveMb : blueprint.systemReserveMb;

  const hosts = placed.map(({ server, services: placedServices }, index): HostPlan => {
    // Services that read the Docker API reach it through the host's socket proxy (C14).
    const proxied = withDockerAPIProxy(placedServices);
    const hostNetworks = [...spec.networks, ...proxied.networks];
    const services = proxied.services.map((service) =>
      needsLoopbackPublishing(service, hostNetworks) ? { ...service, networks: [...service.networks, LOOPBACK_PUBLISHING_NETWORK.key] } : service,
    );
    const networkKeys = new Set(services.flatMap((service) => service.networks));
    const budget = budgetOf(server, services, reserveMb);
    if (budget.headroomMb < 0) {
      problems.push({
        path: `infra:servers[${index}]`,
        message: `containers on ${server.name} are limited to ${budget.containersMb} MB, but ${budget.serverMb} MB minus the ${budget.reserveMb} MB system reserve leaves ${budget.serverMb - budget.reserveMb} MB; pick a larger server or move a role elsewhere`,
      });
    }
    for (const clash of portClashes(services)) {
      problems.push({ path: `infra:servers[${index}]`, message: `on ${server.name}, ${clash}; Docker would refuse to start the second container` });
    }
    const exposed = services.flatMap((service) =>
      service.ports
        .filter((port) => port.publish && isPublicAddress(publishAddress(port)!))
        .map((port): Exposure => ({ port: port.publish!.host, protocol: port.protocol ?? "tcp", service: service.name })),
    );
    const ownAddress = privateIpOf(server);
    const peerPorts = services.flatMap((service) =>
      service.ports
        .filter((port) => port.publish && publishAddress(port) === ownAddress)
        .map((port): Exposure => ({ port: port.publish!.host, protocol: port.protocol ?? "tcp", service: service.name })),
    );
    const peerAccess =
      ownAddress && config.privateNetwork && peerPorts.length > 0
        ? { address: ownAddress, sourceCidr: config.privateNetwork.ipRange, ports: peerPorts }
        : undefined;
    const job = hostBackupJob({
      server: server.name,
      services,
      settings: config.backup,
      repository: resticRepository(config.storage.endpoint, `${config.storage.bucketPrefix}-backups`, server.name),
      containerName: (service) => `${blueprint.namePrefix}-${service}`,
      ...(config.registry ? { imageRegistry: config.registry } : {}),
    });
    // With the ops host pulling, the server only dumps: it holds no key of the repository.
    const backup = config.opsHost?.pullBackups ? inPullMode(job) : job;
    return {
      ...(backup.sources.length > 0 ? { backup } : {}),
      ...(peerAccess ? { peerAccess } : {}),
      server,
      resourceName: `${blueprint.namePrefix}-${server.name}`,
      sshPort: sshPortOf(server),
      memoryMb: budget.serverMb,
      services,
      networks: [...hostNetworks, LOOPBACK_PUBLISHING_NETWORK].filter((network) => networkKeys.has(network.key)),
      exposed,
      firewall: firewallRules(exposed, { adminCidrs: config.adminCidrs, behindCloudflare: behindCloudflare(config.dns), sshPort: sshPortOf(server) }),
      budget,
      links: links.get(server.name)!,
    };
  });

  const ingressKind = ingressKindOf(spec);
  const routes = spec.routes.map((route) => ({
    hostname: `${route.subdomain}.${config.domain}`,
    subdomain: route.subdomain,
    service: route.service,
    port: route.port,
  }));
  const ingressHosts = hosts.filter((host) => host.services.some((service) => service.role === "ingress"));
  let loadBalancer: LoadBalancerPlan | undefined;
  if (config.loadBalancer) {
    const proxy = ingressKind;
    const ingress = ingressHosts[0]?.services.find((service) => service.role === "ingress" && service.name === proxy);
    const ports = (ingress?.ports ?? []).filter((port) => port.publish).map((port) => port.publish!.host);
    if (ingressHosts.length === 0)
      problems.push({ path: "infra:loadBalancer", message: "no server runs the ingress, so the load balancer would have no target" });
    if (proxy !== "nginx") {
      problems.push({
        path: "infra:loadBalancer",
        message: `blueprint ${blueprint.name}'s ingress is ${proxy}, which is not set up here to take the PROXY protocol from the balancer; behind it every client would share the balancer's address and Cloudflare-only (F3) could not hold. Only nginx blueprints (galion, fastapi) run behind a load balancer`,
      });
    }
    loadBalancer = {
      config: config.loadBalancer,
      targets: ingressHosts.map((host) => host.server.name),
      ports,
      proxyProtocol: true,
      admits: balancer!.admits,
      ...(spec.healthCheck ? { healthCheck: spec.healthCheck } : {}),
    };
  }

  // A service the platform adds to a host (the socket proxy) releases and is
  // named like the blueprint's own, so the program, the policy and the plan
  // find its container where they find the others'.
  const own = new Set(spec.services.map((service) => service.name));
  const added = hosts.flatMap((host) => host.services).filter((service) => !own.has(service.name));
  const releases = [...released.releases, ...releasePlans({ ...spec, services: added })];
  let opsHost: OpsHostPlan | undefined;
  if (config.opsHost) {
    const input: OpsHostInput = {
      config: config.opsHost,
      adminCidrs: config.adminCidrs,
      servers: config.servers,
      backups: hosts.flatMap((host) => (host.backup ? [host.backup] : [])),
      backupSettings: config.backup,
      storage: config.storage,
      sharedBucket: spec.buckets.some((bucket) => bucket.key === "shared"),
      environment: config.environment,
      routes: spec.routes.map((route, index) => ({ hostname: routes[index]!.hostname, basicAuth: Boolean(route.basicAuth) })),
      rpoSeconds: config.monitoring.thresholds.backupRPOHours * 3600,
      evaluationIntervalSeconds: config.monitoring.evaluationIntervalSeconds,
    };
    const opsProblems = opsHostProblems(input);
    problems.push(...opsProblems);
    if (opsProblems.length === 0) opsHost = planOpsHost(input);
  }
  // The servers' own alerting watches the ops host: its rules join the monitoring stack's, in the plan and in the rule file.
  let watchedSpec = spec;
  let watchedHosts = hosts;
  if (opsHost && spec.monitoring) {
    const added = withAddedRuleGroups(spec.monitoring, spec.services, [opsHost.watchRules]);
    watchedSpec = { ...spec, monitoring: added.plan, services: added.services };
    watchedHosts = hosts.map((host) => ({ ...host, services: withAddedRuleGroups(spec.monitoring!, host.services, [opsHost!.watchRules]).services }));
  }
  return {
    ...(opsHost ? { opsHost } : {}),
    config,
    blueprint,
    spec: watchedSpec,
    hosts: watchedHosts,
    ingress: ingressKind,
    routes,
    hostnames: routes.map((route) => route.hostname),
    memoryProfile,
    ...(loadBalancer ? { loadBalancer } : {}),
    releases,
    containerNames: containerNamesOf(blueprint.namePrefix, [...spec.services, ...added], releases),
    buckets: spec.buckets.map((bucket) => ({
      key: bucket.key,
      purpose: bucket.purpose,
      resourceName: `${blueprint.namePrefix}-${bucket.key}`,
      bucketName: `${config.storage.bucketPrefix}-${bucket.key}`,
    })),
    problems,
  };
}

/**
 * Two containers on one server cannot listen on the same host port and
 * address; 0.0.0.0 takes the port on every address. Placement can bring
 * together services that each publish sensibly on their own (two APIs
 * published for peers on one private address), so this is checked per server.
 */
export function portClashes(services: readonly ServiceSpec[]): string[] {
  const taken: { service: string; address: string; port: number; protocol: string }[] = [];
  const clashes: string[] = [];
  for (const service of services) {
    for (const port of service.ports) {
      const address = publishAddress(port);
      if (!address || !port.publish) continue;
      const binding = { service: service.name, address, port: port.publish.host, protocol: port.protocol ?? "tcp" };
      const holder = taken.find(
        (other) =>
          other.port === binding.port &&
          other.protocol === binding.protocol &&
          (other.address === binding.address || isUnspecifiedAddress(other.address) || isUnspecifiedAddress(binding.address)),
      );
      if (holder && holder.service !== service.name)
        clashes.push(`${holder.service} and ${service.name} both publish ${binding.protocol}/${binding.port} on ${binding.address}`);
      else if (holder) clashes.push(`${service.name} publishes ${binding.protocol}/${binding.port} on ${binding.address} twice`);
      else taken.push(binding);
    }
  }
  return clashes;
}

/** The balancer as the blueprint's ingress sees it: its private address, and who may come through it (F3). */
function balancerInFront(balancer: LoadBalancerConfig, config: StackConfig): BalancerInFront {
  return { address: balancer.privateIp, admits: behindCloudflare(config.dns) ? [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6] : [...ANYWHERE] };
}

/** The host's own firewall: its inbound rules, plus what its private-network peers reach. */
export function hostFirewallOf(host: HostPlan): HostFirewall {
  return { rules: host.firewall, ...(host.peerAccess ? { peers: host.peerAccess } : {}) };
}

function privateIpOf(server: ServerConfig): string | undefined {
  return server.provider === "hetzner" ? server.privateIp : undefined;
}

/** The servers a service runs on, by its role and placement. */
export function serversFor(service: ServiceSpec, servers: readonly ServerConfig[]): ServerConfig[] {
  return serversTaking(servers, service.role, service.placement);
}

function budgetOf(server: ServerConfig, services: readonly ServiceSpec[], reserveMb: number): MemoryBudget {
  const serverMb = serverMemoryMb(server);
  const containersMb = services.reduce((sum, service) => sum + service.memoryMb, 0);
  return { serverMb, reserveMb, containersMb, headroomMb: serverMb - reserveMb - containersMb };
}

/** Whether the internet can reach an address a port is published on: anything but loopback and RFC 1918, 0.0.0.0 included. */
export function isPublicAddress(address: string): boolean {
  return address !== "localhost" && !isPrivateOrLoopbackAddress(address);
}

/** Consistency of a blueprint's own data; a failure here is a bug in the blueprint. */
export function specProblems(spec: PlatformSpec, blueprint: Blueprint, stackSecrets: readonly { readonly key: string }[] = []): ConfigProblem[] {
  const path = `blueprint ${blueprint.name}`;
  const problems: ConfigProblem[] = [];
  const names = new Set<string>();
  // The stack's own choices (monitoring receivers, admin access) declare secrets too.
  const declaredSecrets = new Set([...blueprint.secrets, ...stackSecrets].map((secret) => secret.key));
  const networkKeys = new Set(spec.networks.map((network) => network.key));
  for (const network of spec.networks) {
    if (network.key.startsWith(DOCKER_API_NETWORK_PREFIX))
      problems.push({ path, message: `network ${network.key}: the prefix ${DOCKER_API_NETWORK_PREFIX} is kept for the Docker socket proxy's consumers` });
  }
  for (const service of spec.services) {
    if (names.has(service.name)) problems.push({ path, message: `service ${service.name} is defined twice` });
    if (service.name === DOCKER_API_PROXY)
      problems.push({
        path,
        message: `service ${DOCKER_API_PROXY}: the name is kept for the socket proxy the platform adds to each host whose services declare dockerAPI`,
      });
    names.add(service.name);
    for (const network of service.networks)
      if (!networkKeys.has(network)) problems.push({ path, message: `${service.name} joins undefined network ${network}` });
    for (const message of [...declarationProblems(service), ...dependencyCheckProblems(service)]) problems.push({ path, message });
    const dump = service.backup?.dump;
    if (dump?.kind === "qdrant" && !declaredSecrets.has(dump.apiKeySecret))
      problems.push({ path, message: `${service.name}'s backup uses secret ${dump.apiKeySecret}, which the blueprint does not declare` });
    for (const [variable, value] of Object.entries(service.env)) {
      for (const key of secretKeysOf(value)) {
        if (!declaredSecrets.has(key)) problems.push({ path, message: `${service.name}.${variable} uses secret ${key}, which the blueprint does not declare` });
      }
    }
    for (const file of service.secretFiles) {
      for (const key of secretKeysOf(file.content)) {
        if (!declaredSecrets.has(key))
          problems.push({ path, message: `${service.name}'s secret file ${file.name} uses secret ${key}, which the blueprint does not declare` });
      }
    }
    for (const message of secretFileProblems(service)) problems.push({ path, message });
  }
  for (const service of spec.services) {
    for (const dependency of service.dependsOn)
      if (!names.has(dependency)) problems.push({ path, message: `${service.name} depends on unknown service ${dependency}` });
  }
  // The proxy reaches a route's service by name on a Docker network they
  // share; without one it would answer 502 for that name.
  const ingress = spec.services.find((service) => service.role === "ingress" && service.name === ingressKindOf(spec));
  for (const route of spec.routes) {
    const target = spec.services.find((service) => service.name === route.service);
    if (!target) problems.push({ path, message: `route ${route.subdomain} targets unknown service ${route.service}` });
    else if (!target.ports.some((port) => port.container === route.port))
      problems.push({ path, message: `route ${route.subdomain} targets ${route.service}:${route.port}, a port it does not listen on` });
    else if (ingress && !target.networks.some((network) => ingress.networks.includes(network))) {
      problems.push({
        path,
        message: `route ${route.subdomain} targets ${route.service}, which shares no network with ${ingress.name} (${ingress.networks.join(", ")} against ${target.networks.join(", ")})`,
      });
    }
  }
  if (spec.services.some((service) => service.backup) && !spec.buckets.some((bucket) => bucket.key === "backups")) {
    problems.push({ path, message: 'services declare backups, but there is no "backups" bucket for the repository' });
  }
  const cycle = findCycle(spec.services);
  if (cycle) problems.push({ path, message: `startup order has a cycle: ${cycle.join(" -> ")}` });
  return problems;
}

/**
 * The stack's `infra:releases` over the blueprint's image tags. Only app
 * services take a release this way: a new tag of a database or a proxy
 * replaces a container that holds state or serves every route, which is a
 * change to the blueprint, reviewed as such.
 */
export function withReleases(spec: PlatformSpec, releases: Readonly<Record<string, string>>): { spec: PlatformSpec; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const apps = spec.services.filter((service) => service.role === "app").map((service) => service.name);
  for (const name of Object.keys(releases)) {
    const service = spec.services.find((candidate) => candidate.name === name);
    const path = `infra:releases.${name}`;
    const releasable = `services that take releases: ${apps.join(", ") || "none"}`;
    if (!service) problems.push({ path, message: `no service "${name}" in this platform (${releasable})` });
    else if (service.role !== "app")
      problems.push({ path, message: `${name} has the ${service.role} role; its image changes with the blueprint, not by release (${releasable})` });
    else if (service.image.digest !== undefined)
      problems.push({ path, message: `${name}'s image is pinned by digest in the blueprint; a tag alone would not change what runs` });
  }
  const services = spec.services.map((service) => {
    const tag = releases[service.name];
    return tag === undefined || service.role !== "app" ? service : { ...service, image: { ...service.image, tag } };
  });
  return { spec: { ...spec, services }, problems };
}

/**
 * The stack's own routes (`infra:ingress.routes`) against the blueprint's:
 * each names a service some route already reaches (so the ingress shares a
 * network with it), and takes a name no other route has.
 */
export function stackRouteProblems(
  ingress: StackIngress,
  blueprintRoutes: readonly { readonly subdomain: string; readonly service: string }[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const routed = [...new Set(blueprintRoutes.map((route) => route.service))];
  const taken = new Set(blueprintRoutes.map((route) => route.subdomain));
  ingress.routes.forEach((route, index) => {
    const path = `infra:ingress.routes[${index}]`;
    if (!routed.includes(route.service))
      problems.push({
        path: `${path}.service`,
        message: `no route of the blueprint reaches "${route.service}"; a stack route adds a name to one of: ${routed.join(", ") || "none"}`,
      });
    if (taken.has(route.subdomain)) problems.push({ path: `${path}.subdomain`, message: `"${route.subdomain}" is routed already` });
    taken.add(route.subdomain);
  });
  return problems;
}

/**
 * The blueprint's build with the stack's releases, in two steps: the first
 * build tells which services release with zero downtime and their current
 * release ids; the second gives the ingress their release aliases as
 * upstreams (and the monitoring their name patterns). An app's own spec does
 * not depend on the upstreams, so its release id is the same in both.
 */
function releasedBuild(
  blueprint: Blueprint,
  environment: BlueprintEnvironment,
  releases: Readonly<Record<string, string>>,
): { spec: PlatformSpec; problems: ConfigProblem[]; releases: ReleasePlan[] } {
  const first = withReleases(blueprint.build(environment), releases);
  const upstreams = releaseUpstreams(releasePlans(first.spec));
  if (Object.keys(upstreams).length === 0) return { ...first, releases: releasePlans(first.spec) };
  const second = withReleases(blueprint.build({ ...environment, upstreams }), releases);
  const plans = releasePlans(second.spec);
  const moved = Object.entries(releaseUpstreams(plans)).filter(([service, upstream]) => upstreams[service] !== upstream);
  if (moved.length > 0)
    throw new Error(`blueprint ${blueprint.name}: the specs of ${moved.map(([service]) => service).join(", ")} depend on the ingress's upstreams`);
  return { ...second, releases: plans };
}

function containerNamesOf(prefix: string, services: readonly ServiceSpec[], releases: readonly ReleasePlan[]): Record<string, string> {
  const ids = new Map(releases.map((plan) => [plan.service, plan.releaseId]));
  return Object.fromEntries(
    services.map((service) => [service.name, ids.get(service.name) ? `${prefix}-${service.name}-${ids.get(service.name)}` : `${prefix}-${service.name}`]),
  );
}

/** How each service of a spec releases; one plan per service name. */
export function releasePlans(spec: PlatformSpec): ReleasePlan[] {
  const routed = new Set(spec.routes.map((route) => route.service));
  const seen = new Set<string>();
  return spec.services.filter((service) => !seen.has(service.name) && seen.add(service.name)).map((service) => releasePlan(service, routed));
}

/** Services ordered so that each comes after everything it depends on. */
export function startupOrder(services: readonly ServiceSpec[]): ServiceSpec[] {
  const ordered: ServiceSpec[] = [];
  const placed = new Set<string>();
  const byName = new Map(services.map((service) => [service.name, service]));
  const visit = (service: ServiceSpec) => {
    if (placed.has(service.name)) return;
    placed.add(service.name);
    for (const dependency of service.dependsOn) {
      const target = byName.get(dependency);
      if (target) visit(target);
    }
    ordered.push(service);
  };
  services.forEach(visit);
  return ordered;
}

function findCycle(services: readonly ServiceSpec[]): string[] | undefined {
  const byName = new Map(services.map((service) => [service.name, service]));
  const state = new Map<string, "visiting" | "done">();
  const walk = (name: string, trail: string[]): string[] | undefined => {
    if (state.get(name) === "visiting") return [...trail.slice(trail.indexOf(name)), name];
    if (state.get(name) === "done") return undefined;
    state.set(name, "visiting");
    for (const dependency of byName.get(name)?.dependsOn ?? []) {
      const cycle = walk(dependency, [...trail, name]);
      if (cycle) return cycle;
    }
    state.set(name, "done");
    return undefined;
  };
  for (const service of services) {
    const cycle = walk(service.name, []);
    if (cycle) return cycle;
  }
  return undefined;
}

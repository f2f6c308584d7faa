import * as pulumi from "@pulumi/pulumi";
import { Backup } from "../components/backup/backup";
import { secretVariables } from "../components/backup/job";
import { withWalArchive } from "../components/backup/pitr";
import { Server } from "../components/compute/server";
import { Network } from "../components/container/network";
import { Service, type ServiceArgs } from "../components/container/service";
import { Monitoring } from "../components/monitoring/monitoring";
import { renderSecretTemplate, secretKeysOf, type EnvValue, type SecretFileSpec, type ServiceSpec } from "../components/container/service-spec";
import { renderSecretContent } from "../components/container/secret-files";
import { Zone } from "../components/dns/zone";
import { Ingress } from "../components/ingress/ingress";
import { Host } from "../components/platform/host";
import { movedFromRoot } from "../components/platform/moves";
import { Platform } from "../components/platform/platform";
import { LoadBalancer } from "../components/compute/load-balancer";
import { PrivateNetwork } from "../components/network/private-network";
import { Firewall } from "../components/network/firewall";
import { OpsHost } from "../components/ops-host/ops-host";
import { Bucket } from "../components/storage/bucket";
import { blueprintNamed } from "./blueprints";
import type { LoadedConfig } from "./config/load";
import { behindCloudflare } from "./config/schema";
import { containerNameOf, hostFirewallOf, planPlatform, startupOrder, type HostPlan, type PlatformModel } from "./platform-model";
import { judgeEachResource, refuseModelViolations } from "./policy/enforce";

export interface DeployedPlatform {
  readonly model: PlatformModel;
  /** Stack outputs. */
  readonly outputs: Record<string, pulumi.Input<unknown>>;
}

/**
 * The stack's platform model, planned from its config and blueprint, once
 * every rule the model can be judged by holds (infra/policy); it throws
 * before anything is registered. The offline plan calls it before Pulumi's stack starts, so a
 * refusal is one error and not a failed stack as well.
 */
export function checkedModel(loaded: LoadedConfig): PlatformModel {
  const model = planPlatform(loaded.config, blueprintNamed(loaded.config.blueprint));
  refuseModelViolations(model);
  return model;
}

/** What every registration step reads: the checked model, the stack's config and secrets, and where in the tree it registers. */
interface Registration {
  readonly model: PlatformModel;
  readonly config: LoadedConfig["config"];
  readonly secrets: LoadedConfig["secrets"];
  /** `<blueprint prefix>`: the start of every resource name, e.g. `vpai-main-caddy`. */
  readonly prefix: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly platform: Platform;
}

/** A server as registered: its host component (the parent of all on it) and its machine. */
interface RegisteredHost {
  readonly plan: HostPlan;
  /** `<prefix>-<server>`: the name of the server's machine and the start of every name on it. */
  readonly name: string;
  readonly host: Host;
  readonly machine: Server;
}

/**
 * Registers a whole platform, in the tree platform → host → what runs on
 * it: per server its firewall and the machine; the private network and load
 * balancer when the stack has them; the buckets and each host's backup job;
 * per server its Docker networks and containers in startup order; then DNS
 * for the routes (at the load balancer when there is one). Everything is
 * decided by planPlatform first, so a bad combination fails before the first
 * resource is registered.
 *
 * Stacks deployed before the tree hold these components at the stack's root;
 * each one that moved answers to its old URN (movedFromRoot), and the engine
 * carries that alias down to everything inside it, so nothing is replaced.
 */
export function deployPlatform(loaded: LoadedConfig, model: PlatformModel = checkedModel(loaded)): DeployedPlatform {
  const { config, secrets } = loaded;
  const blueprint = blueprintNamed(config.blueprint);
  // Every resource is judged too, as it is registered (infra/policy).
  judgeEachResource(model);
  const prefix = blueprint.namePrefix;
  const labels = { "managed-by": "infra", environment: config.environment, blueprint: blueprint.name };
  const platform = new Platform(prefix, { blueprint: blueprint.name, environment: config.environment });
  const registration: Registration = { model, config, secrets, prefix, labels, platform };

  const hosts = registerHosts(registration);
  const privateNetwork = registerPrivateNetwork(registration, hosts);
  const loadBalancer = privateNetwork ? registerLoadBalancer(registration, hosts, privateNetwork) : undefined;
  const buckets = registerBuckets(registration);
  const backups = registerBackups(registration, hosts, buckets);
  const opsHost = registerOpsHost(registration, hosts, backups, buckets);
  registerContainers(registration, hosts, backups, privateNetwork);
  // Where the DNS records point: the load balancer, or the first server that runs the ingress.
  const ingressAddress =
    loadBalancer?.publicAddress ?? hosts.find((host) => host.plan.services.some((service) => service.role === "ingress"))?.machine.publicAddress;
  if (ingressAddress) registerDNS(registration, ingressAddress);

  return {
    model,
    outputs: {
      blueprint: blueprint.name,
      environment: config.environment,
      serverAddresses: Object.fromEntries(hosts.map((host) => [host.plan.server.name, host.machine.publicAddress])),
      ...(ingressAddress ? { ingressAddress } : {}),
      urls: model.hostnames.map((hostname) => `https://${hostname}`),
      ...(opsHost ? { opsHostAddress: opsHost.publicAddress } : {}),
      buckets: Object.fromEntries([...buckets].map(([key, bucket]) => [key, bucket.bucketName])),
    },
  };
}

/** Per server: its host component, its firewall and the machine. */
function registerHosts({ model, config, secrets, labels, platform }: Registration): RegisteredHost[] {
  const edgeProxied = behindCloudflare(config.dns);
  return model.hosts.map((plan) => {
    const server = plan.server;
    const name = plan.resourceName;
    const host = new Host(`${name}-host`, { server: server.name }, { parent: platform });
    const moved = { parent: host, aliases: [movedFromRoot()] };
    const policy = { adminCidrs: config.adminCidrs, behindCloudflare: edgeProxied, sshPort: plan.sshPort };
    // A Hetzner server is created with its cloud firewall attached, so the
    // firewall comes first; an existing host's UFW rules go on once the host
    // is prepared (the preparation installs ufw), so the server comes first.
    const cloudFirewall =
      server.provider === "hetzner"
        ? new Firewall(`${name}-firewall`, { exposed: plan.exposed, policy, target: { kind: "hetzner" }, labels }, moved)
        : undefined;
    const machine = new Server(
      name,
      {
        server,
        sshPrivateKey: secrets["infra:sshPrivateKey"]!,
        ...(server.provider === "hetzner" ? { hcloudToken: secrets["hcloud:token"]! } : {}),
        ...(cloudFirewall?.hetznerFirewallId ? { hetznerFirewallId: cloudFirewall.hetznerFirewallId, hostFirewall: hostFirewallOf(plan) } : {}),
        protect: config.protect,
        labels,
        ...(config.registry ? { imageRegistry: config.registry } : {}),
      },
      moved,
    );
    if (!cloudFirewall)
      new Firewall(`${name}-firewall`, { exposed: plan.exposed, policy, target: { kind: "ufw", connection: machine.connection, ready: machine.ready } }, moved);
    return { plan, name, host, machine };
  });
}

/** The Hetzner private network, when the stack has one: servers exist first, and each is attached at its fixed address. */
function registerPrivateNetwork({ config, prefix, labels, platform }: Registration, hosts: readonly RegisteredHost[]): PrivateNetwork | undefined {
  if (!config.privateNetwork) return undefined;
  return new PrivateNetwork(
    `${prefix}-private`,
    {
      ...config.privateNetwork,
      members: hosts.flatMap(({ plan, machine }) =>
        plan.server.provider === "hetzner" && plan.server.privateIp
          ? [{ name: plan.server.name, serverId: machine.hetznerServerId!, ip: plan.server.privateIp }]
          : [],
      ),
      protect: config.protect,
      labels,
    },
    { parent: platform, aliases: [movedFromRoot()] },
  );
}

/** The load balancer in front of the ingress servers, when the model has one; it reaches them over the private network. */
function registerLoadBalancer(
  { model, config, prefix, labels, platform }: Registration,
  hosts: readonly RegisteredHost[],
  privateNetwork: PrivateNetwork,
): LoadBalancer | undefined {
  const balancer = model.loadBalancer;
  if (!balancer) return undefined;
  const machineOf = (server: string) => hosts.find((host) => host.plan.server.name === server)!.machine;
  return new LoadBalancer(
    `${prefix}-lb`,
    {
      type: balancer.config.type,
      location: balancer.config.location,
      subnetId: privateNetwork.subnetId,
      privateIp: balancer.config.privateIp,
      ports: balancer.ports,
      healthCheck: balancer.healthCheck ?? { port: 80, path: "/" },
      proxyProtocol: balancer.proxyProtocol,
      targets: balancer.targets.map((target) => ({
        name: target,
        serverId: machineOf(target).hetznerServerId!,
        attachment: privateNetwork.attachments[target]!,
      })),
      protect: config.protect,
      labels,
    },
    { parent: platform, aliases: [movedFromRoot()] },
  );
}

/** The platform's S3 buckets by key, protected and kept when the stack is destroyed, like the data volumes. */
function registerBuckets({ model, config, secrets, platform }: Registration): Map<string, Bucket> {
  const buckets = new Map<string, Bucket>();
  for (const bucket of model.buckets) {
    const resource = new Bucket(
      bucket.resourceName,
      {
        bucketName: bucket.bucketName,
        connection: {
          endpoint: config.storage.endpoint,
          region: config.storage.region,
          accessKeyId: secrets["infra:storageAccessKeyId"]!,
          secretAccessKey: secrets["infra:storageSecretAccessKey"]!,
          forcePathStyle: config.storage.forcePathStyle,
        },
        noncurrentVersionExpiryDays: config.storage.noncurrentVersionExpiryDays,
      },
      { parent: platform, aliases: [movedFromRoot()], protect: config.protect, retainOnDelete: config.protect },
    );
    buckets.set(bucket.key, resource);
  }
  return buckets;
}

/**
 * Each host's backup job, by server. It is installed before the host's
 * containers: a stateful container that is replaced runs the job first, as
 * this update defines it. The repository lives in the backups bucket.
 */
function registerBackups({ config, secrets }: Registration, hosts: readonly RegisteredHost[], buckets: ReadonlyMap<string, Bucket>): Map<string, Backup> {
  const backups = new Map<string, Backup>();
  for (const { plan, name, host, machine } of hosts) {
    if (!plan.backup) continue;
    const variables = Object.fromEntries(Object.entries(secretVariables(plan.services)).map(([variable, key]) => [variable, secrets[key]!]));
    const backup = new Backup(
      `${name}-backup`,
      {
        job: plan.backup,
        connection: machine.connection,
        ready: machine.ready,
        region: config.storage.region,
        // In pull mode these stay with the ops host: the Backup component writes none of them to the server.
        resticPassword: secrets["infra:resticPassword"]!,
        accessKeyId: secrets["infra:storageAccessKeyId"]!,
        secretAccessKey: secrets["infra:storageSecretAccessKey"]!,
        ...(secrets["infra:backupHeartbeatUrl"] ? { heartbeatUrl: secrets["infra:backupHeartbeatUrl"] } : {}),
        variables,
      },
      { parent: host, aliases: [movedFromRoot()], dependsOn: [machine, ...(buckets.has("backups") ? [buckets.get("backups")!] : [])] },
    );
    backups.set(plan.server.name, backup);
  }
  return backups;
}

/**
 * Seed 002's ops host, when the stack has one: the VPN every server joins,
 * the uptime checks, and the pull of the backups, which waits for each
 * server's backup job and the backups bucket.
 */
function registerOpsHost(
  { model, config, secrets, labels, platform }: Registration,
  hosts: readonly RegisteredHost[],
  backups: ReadonlyMap<string, Backup>,
  buckets: ReadonlyMap<string, Bucket>,
): OpsHost | undefined {
  if (!model.opsHost) return undefined;
  return new OpsHost(
    `${model.blueprint.namePrefix}-${model.opsHost.server.name}`,
    {
      plan: model.opsHost,
      members: hosts.map(({ plan, machine }) => ({
        name: plan.server.name,
        resourceName: plan.resourceName,
        connection: machine.connection,
        ready: machine.ready,
      })),
      adminCidrs: config.adminCidrs,
      sshPrivateKey: secrets["infra:sshPrivateKey"]!,
      hcloudToken: secrets["hcloud:token"]!,
      protect: config.protect,
      labels,
      region: config.storage.region,
      resticPassword: secrets["infra:resticPassword"]!,
      accessKeyId: secrets["infra:storageAccessKeyId"]!,
      secretAccessKey: secrets["infra:storageSecretAccessKey"]!,
      ...(secrets["infra:backupHeartbeatUrl"] ? { heartbeatUrl: secrets["infra:backupHeartbeatUrl"] } : {}),
    },
    { parent: platform, dependsOn: [...backups.values(), ...(buckets.has("backups") ? [buckets.get("backups")!] : [])] },
  );
}

/**
 * Per server, its Docker networks and its containers in startup order: the
 * ingress as the Ingress component, the monitoring stack through its own
 * component, every other service as a Service. A server whose services
 * others reach over the private network comes first, so each forwarder can
 * wait for the service it forwards to.
 */
function registerContainers(
  registration: Registration,
  hosts: readonly RegisteredHost[],
  backups: ReadonlyMap<string, Backup>,
  privateNetwork: PrivateNetwork | undefined,
): void {
  const started = new Map<string, pulumi.Resource>();
  for (const registered of [...hosts].sort((a, b) => a.plan.links.length - b.plan.links.length)) {
    const networks = registerNetworks(registration, registered);
    const serviceArgs = containerArgsOf(
      registration,
      registered,
      networks,
      backups.get(registered.plan.server.name),
      privateNetwork?.attachments[registered.plan.server.name],
      started,
    );
    registerServices(registration, registered, serviceArgs, started);
  }
}

/** A host's Docker networks, by key. */
function registerNetworks({ prefix }: Registration, { plan, name, host, machine }: RegisteredHost): Record<string, pulumi.Output<string>> {
  const networkNames: Record<string, pulumi.Output<string>> = {};
  for (const network of plan.networks) {
    const resource = new Network(
      `${name}-${network.key}`,
      { spec: network, networkName: `${prefix}-${network.key}`, provider: machine.dockerProvider },
      { parent: host, aliases: [movedFromRoot()] },
    );
    networkNames[network.key] = resource.networkName;
  }
  return networkNames;
}

/** What each container of a host is registered with, in startup order; `after` is filled in as the services are registered. */
function containerArgsOf(
  { model, config, secrets }: Registration,
  { plan, machine }: RegisteredHost,
  networks: Record<string, pulumi.Output<string>>,
  backup: Backup | undefined,
  attachment: pulumi.Resource | undefined,
  started: ReadonlyMap<string, pulumi.Resource>,
): { spec: ServiceSpec; args: Omit<ServiceArgs, "after">; waitsFor: pulumi.Resource[] }[] {
  const releaseIds = new Map(model.releases.flatMap((release) => (release.releaseId === undefined ? [] : [[release.service, release.releaseId] as const])));
  return startupOrder(plan.services).map((spec) => {
    const link = plan.links.find((candidate) => candidate.service === spec.name);
    const remote = link ? started.get(`${link.server}/${link.service}`) : undefined;
    const args: Omit<ServiceArgs, "after"> = {
      // With PITR on, PostgreSQL archives WAL into a volume the backup job ships (B6).
      spec: withWalArchive(spec, config.backup.pitr),
      containerName: containerNameOf(model, spec.name),
      provider: machine.dockerProvider,
      networks,
      env: resolveEnv(spec.env, secrets),
      // Secrets the image reads from files (C15), written on the host by the service's -secrets command.
      ...(spec.secretFiles.length > 0 ? { secretFiles: { connection: machine.connection, contents: resolveSecretFiles(spec.secretFiles, secrets) } } : {}),
      protectVolumes: config.protect,
      ...(config.registry ? { imageRegistry: config.registry } : {}),
      healthGate: { connection: machine.connection },
      hostReady: machine.ready,
      ...(releaseIds.has(spec.name) ? { releaseId: releaseIds.get(spec.name)! } : {}),
      // The host's backup job runs before a container holding backed-up data is replaced.
      ...(spec.backup && backup ? { backupBeforeReplace: { connection: machine.connection, installed: backup.installed } } : {}),
    };
    return { spec, args, waitsFor: [...(remote ? [remote] : []), ...(attachment ? [attachment] : [])] };
  });
}

/** A host's containers: each after the services it depends on, its remote service and its private-network attachment. */
function registerServices(
  { model, secrets }: Registration,
  { plan, name, host }: RegisteredHost,
  containers: readonly { spec: ServiceSpec; args: Omit<ServiceArgs, "after">; waitsFor: pulumi.Resource[] }[],
  started: Map<string, pulumi.Resource>,
): void {
  const local = new Map<string, pulumi.Resource>();
  const moved = { parent: host, aliases: [movedFromRoot()] };
  // The monitoring stack's containers are registered by its own component.
  const monitored = new Set(model.spec.monitoring?.services ?? []);
  const monitoringArgs: ServiceArgs[] = [];
  for (const { spec, args: partial, waitsFor } of containers) {
    const args: ServiceArgs = { ...partial, after: [...spec.dependsOn.map((dependency) => local.get(dependency)!).filter(Boolean), ...waitsFor] };
    if (monitored.has(spec.name)) {
      monitoringArgs.push(args);
      continue;
    }
    const resource =
      spec.role === "ingress" && spec.name === model.ingress
        ? new Ingress(
            `${name}-${spec.name}`,
            { ...args, kind: model.ingress, routes: model.routes, knownServices: plan.services.map((service) => service.name) },
            moved,
          )
        : new Service(`${name}-${spec.name}`, args, moved);
    local.set(spec.name, resource);
    if (!plan.links.some((link) => link.service === spec.name)) started.set(`${plan.server.name}/${spec.name}`, resource);
  }
  if (model.spec.monitoring && monitoringArgs.length > 0) {
    const monitoring = new Monitoring(
      `${name}-monitoring`,
      { plan: model.spec.monitoring, services: monitoringArgs, secrets, previousName: (service) => `${name}-${service}` },
      moved,
    );
    for (const [service, resource] of Object.entries(monitoring.services)) {
      local.set(service, resource);
      started.set(`${plan.server.name}/${service}`, resource);
    }
  }
}

/** The Cloudflare records of the routes, when the stack's DNS is Cloudflare's. */
function registerDNS({ model, config, prefix, platform }: Registration, target: pulumi.Output<string>): void {
  const dns = config.dns;
  if (model.routes.length === 0 || dns.provider !== "cloudflare") return;
  new Zone(
    `${prefix}-dns`,
    {
      zoneId: dns.zoneId,
      security: { hsts: dns.hsts },
      records: model.routes.map((route) => ({
        key: route.subdomain,
        name: route.hostname,
        proxied: dns.proxied,
        ...(dns.proxied ? {} : { unproxiedReason: "infra:dns.proxied is false for this stack" }),
      })),
      target,
    },
    { parent: platform, aliases: [movedFromRoot()] },
  );
}

/** Replaces secret references with the stack's secret outputs; the result stays secret. */
export function resolveEnv(
  env: Readonly<Record<string, EnvValue>>,
  secrets: Readonly<Record<string, pulumi.Output<string>>>,
): Record<string, pulumi.Input<string>> {
  const resolved: Record<string, pulumi.Input<string>> = {};
  for (const [variable, value] of Object.entries(env)) {
    if (typeof value === "string") {
      resolved[variable] = value;
      continue;
    }
    const keys = secretKeysOf(value);
    const missing = keys.filter((key) => !secrets[key]);
    if (missing.length > 0) throw new Error(`${variable} needs secret ${missing.join(", ")}, which is not loaded`);
    if ("secret" in value) {
      resolved[variable] = secrets[value.secret]!;
    } else {
      resolved[variable] = pulumi.secret(
        pulumi
          .all(keys.map((key) => secrets[key]!))
          .apply((values) => renderSecretTemplate(value.secretTemplate, Object.fromEntries(keys.map((key, index) => [key, values[index]!])))),
      );
    }
  }
  return resolved;
}

/** Each secret file's content by name, its secrets filled in; the result stays secret. */
export function resolveSecretFiles(
  files: readonly SecretFileSpec[],
  secrets: Readonly<Record<string, pulumi.Output<string>>>,
): Record<string, pulumi.Output<string>> {
  const resolved: Record<string, pulumi.Output<string>> = {};
  for (const file of files) {
    const keys = secretKeysOf(file.content);
    const missing = keys.filter((key) => !secrets[key]);
    if (missing.length > 0) throw new Error(`secret file ${file.name} needs secret ${missing.join(", ")}, which is not loaded`);
    resolved[file.name] = pulumi.secret(
      pulumi
        .all(keys.map((key) => secrets[key]!))
        .apply((values) => renderSecretContent(file.content, Object.fromEntries(keys.map((key, index) => [key, values[index]!])))),
    );
  }
  return resolved;
}
